// Package testbundle builds small release bundles for tests: files written into a temporary
// directory and digested with the real digest stage.
package testbundle

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/sentientos/reliquary/pipeline/digest"
)

// Files is a set of bundle-relative paths and their contents.
type Files map[string]string

// Default is a small release: two archives, an image, docs and a lock file.
func Default() Files {
	return Files{
		"artifacts/app_v1.0.0_linux_amd64.tar.gz":   "linux amd64 archive bytes",
		"artifacts/app_v1.0.0_windows_amd64.zip":    "windows zip bytes",
		"artifacts/app_v1.0.0.oci.tar":              "oci layout bytes",
		"artifacts/app_v1.0.0_docs.tar.gz":          "docs bundle bytes",
		"deps.lock.json":                            `{"schema":"x"}`,
		"artifacts/nested/dir/app_v1.0.0_extra.txt": "extra",
	}
}

// Write writes files under dir.
func Write(t testing.TB, dir string, files Files) {
	t.Helper()
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// New writes files into a new temporary directory, digests it as project "app" at version
// v1.0.0, and returns the directory.
func New(t testing.TB, files Files) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	if _, err := digest.Run(context.Background(), digest.Input{
		Dir: dir, Project: "app", Version: "v1.0.0", Algorithms: digest.WithSHA512,
	}); err != nil {
		t.Fatalf("digest %s: %v", dir, err)
	}
	return dir
}

// Redigest re-runs the digest stage over dir, as an attacker who changed a file would.
func Redigest(t testing.TB, dir string) {
	t.Helper()
	if _, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Algorithms: digest.WithSHA512}); err != nil {
		t.Fatalf("digest %s: %v", dir, err)
	}
}
