package digest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
)

func TestRunWritesManifestAndChecksums(t *testing.T) {
	files := testbundle.Default()
	dir := testbundle.New(t, files)
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := b.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Artifacts) != len(files) {
		t.Fatalf("manifest lists %d files, want %d", len(m.Artifacts), len(files))
	}
	for _, a := range m.Artifacts {
		content := files[a.Path]
		s256, s512 := sha256.Sum256([]byte(content)), sha512.Sum512([]byte(content))
		if a.Digest.SHA256 != hex.EncodeToString(s256[:]) || a.Digest.SHA512 != hex.EncodeToString(s512[:]) {
			t.Errorf("%s: wrong digests %+v", a.Path, a.Digest)
		}
		if a.Size != int64(len(content)) {
			t.Errorf("%s: size %d, want %d", a.Path, a.Size, len(content))
		}
	}
	want := map[string]artifact.Kind{
		"artifacts/app_v1.0.0_linux_amd64.tar.gz": artifact.KindArchive,
		"artifacts/app_v1.0.0.oci.tar":            artifact.KindImage,
		"artifacts/app_v1.0.0_docs.tar.gz":        artifact.KindDocs,
		"deps.lock.json":                          artifact.KindMetadata,
	}
	byPath := m.Artifacts.ByPath()
	for p, k := range want {
		if byPath[p].Kind != k {
			t.Errorf("%s: kind %q, want %q", p, byPath[p].Kind, k)
		}
	}
	if got := byPath["artifacts/app_v1.0.0_windows_amd64.zip"].Platform; got != "windows/amd64" {
		t.Errorf("zip platform = %q, want windows/amd64", got)
	}
}

// TestSha256sumAccepts checks interop with GNU coreutils: `sha256sum -c SHA256SUMS` passes
// inside the bundle, and fails after one byte changes.
func TestSha256sumAccepts(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	dir := testbundle.New(t, testbundle.Default())
	cmd := exec.Command("sha256sum", "-c", "--strict", bundle.ChecksumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c failed: %v\n%s", err, out)
	}
	flipByte(t, filepath.Join(dir, "artifacts/app_v1.0.0_windows_amd64.zip"))
	cmd = exec.Command("sha256sum", "-c", bundle.ChecksumsFile)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "app_v1.0.0_windows_amd64.zip: FAILED") {
		t.Fatalf("sha256sum -c accepted a changed file: %v\n%s", err, out)
	}
}

func TestDeterministic(t *testing.T) {
	a := testbundle.New(t, testbundle.Default())
	b := testbundle.New(t, testbundle.Default())
	for _, f := range []string{bundle.ManifestFile, bundle.ChecksumsFile} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs over the same files", f)
		}
	}
}

func TestRerunIgnoresOwnRecordsAndTempFiles(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default())
	before, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	// A killed earlier run may leave a temporary file behind; it is never released.
	testbundle.Write(t, dir, testbundle.Files{".manifest.json.tmp-123": "half", "keys/release.pub": "k"})
	if _, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Algorithms: digest.WithSHA512}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	if !bytes.Equal(before, after) {
		t.Errorf("re-running digest changed the manifest:\n%s\n%s", before, after)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"empty directory", func(t *testing.T, dir string) {}, "no files to release"},
		{"symlink inside", func(t *testing.T, dir string) {
			testbundle.Write(t, dir, testbundle.Files{"a.txt": "a"})
			must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
		}, "link is a symlink"},
		{"fifo inside", func(t *testing.T, dir string) {
			testbundle.Write(t, dir, testbundle.Files{"a.txt": "a"})
			must(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
		}, "pipe is a special"},
		{"non-UTF-8 name", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "bad\xffname"), []byte("x"), 0o644))
		}, "not valid UTF-8"},
		{"unreadable file", func(t *testing.T, dir string) {
			testbundle.Write(t, dir, testbundle.Files{"a.txt": "a"})
			must(t, os.Chmod(filepath.Join(dir, "a.txt"), 0))
			if os.Geteuid() == 0 {
				t.Skip("root reads files whatever their mode")
			}
		}, "a.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "p", Version: "v1"})
			if err == nil || !errors.Is(err, digest.ErrDigest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrDigest mentioning %q", err, tc.want)
			}
			if _, statErr := os.Stat(filepath.Join(dir, bundle.ManifestFile)); statErr == nil {
				t.Fatal("a failed run left a manifest behind")
			}
		})
	}
	if _, err := digest.Run(context.Background(), digest.Input{Dir: "/nonexistent/dir", Project: "p", Version: "v1"}); err == nil {
		t.Fatal("digest of a missing directory succeeded")
	}
}

func TestReaderMatchesStdlib(t *testing.T) {
	data := bytes.Repeat([]byte("reliquary"), 300000) // larger than one read buffer
	n, d, err := digest.Reader(bytes.NewReader(data), digest.WithSHA512)
	if err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
	if d.SHA256 != hex.EncodeToString(s256[:]) || d.SHA512 != hex.EncodeToString(s512[:]) {
		t.Fatal("digests differ from crypto/sha256 and crypto/sha512")
	}
	_, d, _ = digest.Reader(bytes.NewReader(data), digest.SHA256Only)
	if d.SHA512 != "" {
		t.Fatal("SHA256Only computed SHA-512")
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	must(t, os.WriteFile(path, data, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
