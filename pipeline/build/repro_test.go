package build_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
)

// copyMulti copies the multi project under umask, with every file's mtime set to mtime.
func copyMulti(t *testing.T, umask int, mtime time.Time) string {
	t.Helper()
	old := syscall.Umask(umask)
	defer syscall.Umask(old)
	dst := filepath.Join(t.TempDir(), "elsewhere", "multi")
	src := filepath.Join(buildtest.ProjectsDir(), "multi")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o777)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o666); err != nil {
			return err
		}
		return os.Chtimes(target, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(t *testing.T, src string, plats []string, opts ...build.Option) *build.Output {
	t.Helper()
	out, err := build.Run(context.Background(), build.Input{
		Source: src, Version: "v1.0.0", Commit: "abc123", Platforms: plats, OutDir: filepath.Join(t.TempDir(), "out"),
	}, append([]build.Option{build.WithTime(commitTime)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func only(tr build.Tree, names ...string) build.Tree {
	keep := map[string]bool{}
	for _, n := range names {
		keep["artifacts/"+n] = true
	}
	tr.Artifacts = tr.Artifacts.Filter(func(a artifact.Artifact) bool { return keep[a.Path] })
	return tr
}

// TestReproducibleElsewhere rebuilds in another directory, from files with other mtimes and
// modes (umask 077), with a hostile environment: every artifact must be identical.
func TestReproducibleElsewhere(t *testing.T) {
	a := sharedBuild(t)
	src := copyMulti(t, 0o077, time.Now())
	envFile := filepath.Join(t.TempDir(), "go.env")
	if err := os.WriteFile(envFile, []byte("GOFLAGS=-buildvcs=true -tags=evil\nGOAMD64=v3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOENV", envFile)
	t.Setenv("GOFLAGS", "-ldflags=-X=main.version=hacked")
	t.Setenv("GOAMD64", "v3")
	t.Setenv("CGO_ENABLED", "1")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SOURCE_DATE_EPOCH", "1") // the explicit time wins
	b := run(t, src, platforms)
	c := build.Compare(a.Tree(), b.Tree())
	if !c.OK() {
		for _, d := range c.Differences {
			t.Errorf("not reproduced: %s", d)
		}
	}
	if len(c.Reproduced) != 5 {
		t.Errorf("reproduced %v", c.Reproduced)
	}
}

// TestReproducibleWithFreshGOCACHE rebuilds with an empty build cache (the standard library
// is compiled again): the bytes must not depend on the cache.
func TestReproducibleWithFreshGOCACHE(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library from scratch")
	}
	a := sharedBuild(t)
	b := run(t, copyMulti(t, 0o022, time.Unix(1e9, 0)), []string{"linux/amd64"}, build.WithGoCache(t.TempDir()))
	names := []string{"multi_v1.0.0_linux_amd64.tar.gz", "multi_v1.0.0_docs.tar.gz"}
	c := build.Compare(only(a.Tree(), names...), only(b.Tree(), names...))
	if !c.OK() || len(c.Reproduced) != 2 {
		t.Errorf("fresh GOCACHE: reproduced %v, differences %v", c.Reproduced, c.Differences)
	}
}

// TestOneSourceByteChanges changes one byte of one command: its archives and the image
// differ, Compare names the first differing member, and the docs are reproduced.
func TestOneSourceByteChanges(t *testing.T) {
	a := sharedBuild(t)
	src := copyMulti(t, 0o022, time.Now())
	main := filepath.Join(src, "cmd", "beta", "main.go")
	data, _ := os.ReadFile(main)
	changed := strings.Replace(string(data), `greet.Line("beta"`, `greet.Line("betb"`, 1)
	if changed == string(data) {
		t.Fatal("edit did not apply")
	}
	if err := os.WriteFile(main, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	b := run(t, src, []string{"linux/amd64", "windows/amd64"})
	c := build.Compare(a.Tree(), b.Tree())
	if strings.Join(c.Reproduced, " ") != "artifacts/multi_v1.0.0_docs.tar.gz" {
		t.Errorf("reproduced %v, want only the docs", c.Reproduced)
	}
	got := map[string]build.Difference{}
	for _, d := range c.Differences {
		got[d.Path] = d
	}
	for path, entry := range map[string]string{
		"artifacts/multi_v1.0.0_linux_amd64.tar.gz": "beta",
		"artifacts/multi_v1.0.0_windows_amd64.zip":  "beta.exe",
		"artifacts/multi_v1.0.0.oci.tar":            "blobs/sha256/",
		"artifacts/multi_v1.0.0_linux_arm64.tar.gz": "",
	} {
		d, ok := got[path]
		switch {
		case !ok:
			t.Errorf("%s: not reported", path)
		case entry == "":
			if d.Reason != "only in first" {
				t.Errorf("%s: %s", path, d)
			}
		case d.Reason != "differs" || d.Offset < 0 || d.Entry == nil || !strings.HasPrefix(d.Entry.Name, entry):
			t.Errorf("%s: %s, want the first differing entry %s", path, d, entry)
		}
	}
	if d := got["artifacts/multi_v1.0.0_linux_amd64.tar.gz"]; d.Entry != nil && !strings.Contains(d.Entry.Detail, "content sha256") {
		t.Errorf("detail %q", d.Entry.Detail)
	}
}

func TestCompareWithoutFiles(t *testing.T) {
	a := sharedBuild(t)
	b := a.Tree()
	b.Dir = ""
	b.Artifacts = append(artifact.List(nil), b.Artifacts...)
	b.Artifacts[2].Digest.SHA256 = strings.Repeat("0", 64)
	c := build.Compare(a.Tree(), b)
	if c.OK() || len(c.Differences) != 1 || c.Differences[0].Offset != -1 || !strings.Contains(c.Differences[0].String(), "not available") {
		t.Errorf("comparison %+v", c)
	}
}
