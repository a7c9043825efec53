// Package buildtest holds helpers for tests of the freeze and build stages: copies of the
// real Go projects kept under testdata/projects at the repository root, and throwaway
// module caches. It is imported only by tests.
package buildtest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ProjectsDir is the absolute path of testdata/projects at the repository root.
func ProjectsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "projects")
}

// Project copies the named test project into a new temporary directory and returns the
// copy's path, so a test may change it freely.
func Project(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := CopyTree(filepath.Join(ProjectsDir(), name), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// CopyTree copies the regular files and directories under src to dst, keeping permission
// bits (not times).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// WriteFile writes data to dir/name, creating parent directories, and fails the test on error.
func WriteFile(t testing.TB, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ModCache returns a new, empty module cache directory that is removed when the test ends.
// The go command makes cached modules read-only; removal makes them writable first.
func ModCache(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "reliquary-modcache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveModCache(dir) })
	return dir
}

// RemoveModCache deletes a module cache made by the go command (whose files are read-only).
func RemoveModCache(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// NeedToolchain makes sure the module proxy serves the Go toolchain goVersion (like
// "go1.22.6") for this host, downloading it into the default module cache, where it stays for
// later runs. It skips the test, saying why, when the proxy cannot be reached; any other
// failure fails the test.
func NeedToolchain(t testing.TB, goVersion string) {
	t.Helper()
	mod := "golang.org/toolchain@v0.0.1-" + goVersion + "." + runtime.GOOS + "-" + runtime.GOARCH
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	for _, unreachable := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "network is unreachable", "GOPROXY=off", "TLS handshake"} {
		if strings.Contains(string(out), unreachable) {
			t.Skipf("needs the Go module proxy to fetch %s, and it is unreachable: %s", mod, out)
		}
	}
	t.Fatalf("go mod download %s: %v\n%s", mod, err, out)
}
