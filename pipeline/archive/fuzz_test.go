package archive_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// seeds are small valid archives of each format, so the fuzzer starts from real structure.
func seeds(f *testing.F) [][]byte {
	es := []archive.Entry{{Name: "d/x", Data: []byte("hello"), Mode: 0o755}, {Name: "y", Data: []byte("y")}}
	var out [][]byte
	for _, w := range writers {
		var b bytes.Buffer
		if err := w.write(&b, es, commitTime); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// FuzzReaders feeds arbitrary bytes to every reader: errors are fine, panics and unbounded
// work are not.
func FuzzReaders(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = archive.ListTar(bytes.NewReader(data))
		_, _ = archive.ListTarGz(bytes.NewReader(data))
		_, _ = archive.ListZip(bytes.NewReader(data), int64(len(data)))
	})
}

// FuzzReadMember: reading one file out of an arbitrary tar.gz or zip (a binary whose SBOM the
// gate checks) errs or returns at most max bytes, without a panic.
func FuzzReadMember(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"a.tar.gz", "a.zip"} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if got, err := archive.ReadMember(p, "d/x", 4); err == nil && len(got) > 4 {
				t.Fatalf("%s: read %d bytes, max 4", name, len(got))
			}
		}
		_, _ = archive.TarMember(bytes.NewReader(data), "y", 4)
	})
}
