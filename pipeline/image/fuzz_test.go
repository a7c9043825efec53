package image

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// seedLayout is a small OCI layout tarball holding one linux/amd64 image.
func seedLayout(f *testing.F) []byte {
	dir := f.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		f.Fatal(err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64"})
	if err != nil {
		f.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: rel + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil || tw.Close() != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzOpenBase: a base image tarball (untrusted input given with --image-base) is extracted
// and searched for a platform without a panic, and never writes outside its own temporary
// directory, which Close removes.
func FuzzOpenBase(f *testing.F) {
	f.Add(seedLayout(f))
	f.Add([]byte{})
	// One scratch tree per fuzzing process: a temporary directory per input would make
	// every execution (and minimization) many times slower. The fuzzing engine keeps its
	// own fuzz-* files in TMPDIR too.
	tmp := f.TempDir()
	work := filepath.Join(tmp, "a", "b") // escapes by ../ or ../../ land in tmp, seen below
	input := filepath.Join(work, "base.tar")
	if err := os.MkdirAll(work, 0o755); err != nil {
		f.Fatal(err)
	}
	f.Setenv("TMPDIR", work)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(input, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := openBase(input); err == nil {
			b.forPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})
			b.forPlatform(v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
			b.Close()
		}
		_, _ = ReadBinary(input, "linux/amd64", "app", 1<<20) // opens the base the same way, then reads layers
		var left []string
		filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
			engine := filepath.Dir(p) == work && strings.HasPrefix(d.Name(), "fuzz-")
			if err == nil && p != tmp && p != filepath.Join(tmp, "a") && p != work && p != input && !engine {
				left = append(left, p)
			}
			return nil
		})
		if len(left) > 0 {
			t.Fatalf("opening the base left or wrote %v", left)
		}
	})
}
