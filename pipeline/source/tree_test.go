package source_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/source"
)

func TestTreeDigest(t *testing.T) {
	files := testbundle.Files{"go.mod": "module x\n", "main.go": "package main\n", "sub/a.go": "package sub\n"}
	a, b := t.TempDir(), t.TempDir()
	testbundle.Write(t, a, files)
	testbundle.Write(t, b, files)
	// What is excluded, and file times, do not matter.
	testbundle.Write(t, b, testbundle.Files{".git/HEAD": "ref: x", "dist/manifest.json": "{}"})
	os.Chtimes(filepath.Join(b, "main.go"), time0, time0)
	da := digestOf(t, a)
	if db := digestOf(t, b); da != db {
		t.Fatalf("same tree, different digests: %s %s", da, db)
	}
	for name, change := range map[string]func(dir string){
		"content":    func(d string) { testbundle.Write(t, d, testbundle.Files{"main.go": "package main // x\n"}) },
		"new file":   func(d string) { testbundle.Write(t, d, testbundle.Files{"sub/b.go": "package sub\n"}) },
		"rename":     func(d string) { os.Rename(filepath.Join(d, "sub/a.go"), filepath.Join(d, "sub/c.go")) },
		"exec bit":   func(d string) { os.Chmod(filepath.Join(d, "main.go"), 0o755) },
		"symlink":    func(d string) { os.Symlink("main.go", filepath.Join(d, "link.go")) },
		"excluded 2": func(d string) { testbundle.Write(t, d, testbundle.Files{"sub/dist/x": "x"}) }, // only top-level names are excluded
	} {
		d := t.TempDir()
		testbundle.Write(t, d, files)
		change(d)
		if got := digestOf(t, d); got == da {
			t.Errorf("%s: digest did not change", name)
		}
	}
}

var time0 = time.Unix(0, 0)

func digestOf(t *testing.T, dir string) string {
	t.Helper()
	d, err := source.TreeDigest(dir, source.DefaultExcludes)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
