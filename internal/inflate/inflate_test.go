package inflate_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/internal/inflate"
)

// payload is compressible but not trivial, as a binary is.
func payload() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(r.IntN(16))
	}
	return b
}

func gz(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRoundTrips reads what the standard library wrote (which is what reliquary writes) and
// rejects a corrupted stream, as compress/gzip does.
func TestRoundTrips(t *testing.T) {
	want := payload()
	comp := gz(t, want)
	zr, err := inflate.Gzip(bytes.NewReader(comp))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("gzip round trip: %d bytes, %v", len(got), err)
	}
	bad := bytes.Clone(comp)
	bad[len(bad)-6] ^= 1 // the CRC-32 in the trailer
	if zr, err := inflate.Gzip(bytes.NewReader(bad)); err == nil {
		if _, err := io.ReadAll(zr); err == nil {
			t.Error("a gzip stream with a wrong checksum was read without error")
		}
	}

	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("bin")
	w.Write(want)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	z, err := inflate.Zip(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := z.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("zip round trip: %d bytes, %v", len(got), err)
	}

	for _, mt := range []types.MediaType{types.OCILayer, types.DockerLayer} {
		rc, err := inflate.Layer(static.NewLayer(comp, mt))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s layer: %d bytes, %v", mt, len(got), err)
		}
		rc.Close()
	}
	rc, err = inflate.Layer(static.NewLayer(want, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("uncompressed layer: %d bytes, %v", len(got), err)
	}
}

// BenchmarkGzip compares the inflater with compress/gzip on the same stream.
func BenchmarkGzip(b *testing.B) {
	data := payload()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	for _, c := range []struct {
		name string
		open func(io.Reader) (io.ReadCloser, error)
	}{
		{"stdlib", func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }},
		{"inflate", inflate.Gzip},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				zr, err := c.open(bytes.NewReader(buf.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, zr)
			}
		})
	}
}
