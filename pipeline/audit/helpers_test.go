package audit_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/image"
)

var commitTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testRepo   = "https://github.com/example/app"
)

// privateKey is an EC key's armour. Test keys are built at run time, never written as one
// literal: the test binary is itself scanned (TestOwnBinaryIsNotAKey) and must hold none.
var privateKey = armour("EC PRIVATE KEY", "\n", "MHcCAQEEIBkg")

// armour returns a PEM-style block of label with the given line ending and body.
func armour(label, eol, body string) string {
	dashes := strings.Repeat("-", 5)
	return dashes + "BEGIN " + label + dashes + eol + body + eol + dashes + "END " + label + dashes + eol
}

// goodImage builds an image the way the build stage does, with pipeline/image.
func goodImage(t *testing.T, dir, name, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("\x7fELF not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(out), 0o755)
	_, err := image.Build(context.Background(), image.Input{
		Platforms:  []image.Platform{{Platform: "linux/amd64", Binaries: []image.Binary{{Name: "app", Path: bin}}}},
		Entrypoint: "app", Time: commitTime, Source: testRepo, Revision: testCommit, Version: version, Out: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entry is one file of a hand-made tar layer or archive.
type entry struct {
	name string
	mode int64
	typ  byte
	data string
}

func tarBytes(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, ModTime: commitTime}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if h.Typeflag == tar.TypeSymlink {
			h.Linkname = e.data
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func tarGzFile(t *testing.T, path string, entries ...entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(tarBytes(t, entries...))
	zw.Close()
	writeFile(t, path, buf.Bytes())
}

func zipFile(t *testing.T, path string, entries ...entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := fs.FileMode(e.mode).Perm()
		if e.mode&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.data))
	}
	zw.Close()
	writeFile(t, path, buf.Bytes())
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// craftedImage writes an OCI layout tarball holding one image with the given user, labels
// and layer, built directly with go-containerregistry: what a careless build might produce.
func craftedImage(t *testing.T, path, user string, labels map[string]string, created time.Time, layer ...entry) {
	t.Helper()
	data := tarBytes(t, layer...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img, err = mutate.AppendLayers(img, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.User, cf.Config.Labels = user, labels
	cf.Created = v1.Time{Time: created}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	entries, err := archive.DirEntries("", dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := archive.WriteTar(&buf, entries, commitTime); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

func goodLabels() map[string]string {
	return map[string]string{
		image.LabelSource: testRepo, image.LabelRevision: testCommit,
		image.LabelVersion: "v1.0.0", image.LabelCreated: commitTime.Format(time.RFC3339),
	}
}
