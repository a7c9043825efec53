package build_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build"
)

// TestCacheKeyCoversEveryInput changes every string the key holds (each field, each
// target's fields, each argument and environment entry), one at a time, and expects a
// different key: an input the key missed would let a stale binary through.
func TestCacheKeyCoversEveryInput(t *testing.T) {
	base := build.CacheKey{
		Tree: "sha256:aa", Lock: "sha256:bb",
		Toolchain: build.Toolchain{Version: "go1.26.8", GoVersion: "go version go1.26.8 linux/amd64"},
		Command: build.Command{
			Platform: "linux/amd64", Dir: ".",
			Targets: []build.Target{{Main: "./cmd/a", ImportPath: "example.com/m/cmd/a", Binary: "a"}},
			Args:    []string{"build", "-trimpath", "-ldflags=-s -w -X main.version=v1", "-o", "bin/", "./cmd/a"},
			Env:     []string{"CGO_ENABLED=0", "GOARCH=amd64", "GOOS=linux"},
		},
	}
	want := base.Sum()
	n := 0
	forEachString(reflect.ValueOf(&base).Elem(), "key", func(path string, v reflect.Value) {
		n++
		old := v.String()
		v.SetString(old + "x")
		if base.Sum() == want {
			t.Errorf("changing %s does not change the key", path)
		}
		v.SetString(old)
	})
	if base.Sum() != want || n < 14 {
		t.Fatalf("walked %d inputs; the key did not come back (%v)", n, base.Sum() == want)
	}
	// An added argument or environment entry (a new flag, a new GO* setting) is an input too.
	for name, edit := range map[string]func(k *build.CacheKey){
		"an added argument": func(k *build.CacheKey) { k.Command.Args = append(k.Command.Args, "-race") },
		"an added env":      func(k *build.CacheKey) { k.Command.Env = append(k.Command.Env, "GOAMD64=v3") },
		"an added target":   func(k *build.CacheKey) { k.Command.Targets = append(k.Command.Targets, build.Target{}) },
	} {
		k := base
		k.Command.Args = append([]string(nil), base.Command.Args...)
		k.Command.Env = append([]string(nil), base.Command.Env...)
		k.Command.Targets = append([]build.Target(nil), base.Command.Targets...)
		edit(&k)
		if k.Sum() == want {
			t.Errorf("%s does not change the key", name)
		}
	}
}

func forEachString(v reflect.Value, path string, fn func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v)
	case reflect.Struct:
		for i := range v.NumField() {
			forEachString(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			forEachString(v.Index(i), path+"["+string(rune('0'+i))+"]", fn)
		}
	}
}

// TestBinaryCache builds twice with one cache: the second build links nothing and its
// artifacts are byte-identical; a changed source file is a miss (the other inputs are
// covered key by key above), and so is an entry whose binary was altered, which is then
// replaced by a fresh link.
func TestBinaryCache(t *testing.T) {
	src := copyMulti(t, 0o022, commitTime)
	cache := filepath.Join(t.TempDir(), "bincache")
	plats := []string{"linux/amd64"}
	first := run(t, src, plats, build.WithBinaryCache(cache))
	if len(first.Cached) != 0 {
		t.Fatalf("first build: cached %v from an empty cache", first.Cached)
	}
	second := run(t, src, plats, build.WithBinaryCache(cache))
	if want := []string{"linux/amd64 alpha", "linux/amd64 beta"}; !reflect.DeepEqual(second.Cached, want) {
		t.Fatalf("second build: cached %v, want %v", second.Cached, want)
	}
	if cmp := build.Compare(first.Tree(), second.Tree()); !cmp.OK() {
		t.Fatalf("a cache hit gave other bytes: %+v", cmp)
	}
	// The archive and the image came from the pack cache, not compressed again.
	if want := []string{"multi_v1.0.0.oci.tar", "multi_v1.0.0_linux_amd64.tar.gz"}; !reflect.DeepEqual(second.CachedArtifacts, want) || len(first.CachedArtifacts) != 0 {
		t.Fatalf("pack cache: first build %v, second %v, want none then %v", first.CachedArtifacts, second.CachedArtifacts, want)
	}
	// An altered pack entry is a miss, and the artifact is written again, byte for byte.
	packed, _ := filepath.Glob(filepath.Join(cache, "packed", "*", "*", "artifact"))
	if len(packed) != 2 {
		t.Fatalf("pack cache entries: %v, want 2", packed)
	}
	for _, e := range packed {
		if err := os.WriteFile(e, []byte("not an archive"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	third := run(t, src, plats, build.WithBinaryCache(cache))
	if cmp := build.Compare(first.Tree(), third.Tree()); !cmp.OK() || len(third.CachedArtifacts) != 0 {
		t.Fatalf("altered pack entries: cached %v, differences %+v", third.CachedArtifacts, cmp)
	}

	// A changed input: a comment in a source file (a new tree digest).
	main := filepath.Join(src, "cmd", "alpha", "main.go")
	data, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, append(data, "// changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	// The comment changes no binary byte (-trimpath, no build ID), so the pack cache, keyed by
	// content, still holds their archive and image: relinked, but not compressed again.
	if out := run(t, src, plats, build.WithBinaryCache(cache)); len(out.Cached) != 0 || len(out.CachedArtifacts) != 2 {
		t.Errorf("after a source change: cached %v and %v", out.Cached, out.CachedArtifacts)
	} else if cmp := build.Compare(first.Tree(), out.Tree()); !cmp.OK() {
		t.Errorf("after a comment change: %+v", cmp)
	}

	// An altered entry: every stored alpha binary is overwritten; the next build links again.
	entries, _ := filepath.Glob(filepath.Join(cache, "*", "*", "alpha"))
	if len(entries) == 0 {
		t.Fatal("no cache entry holds alpha")
	}
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("not a binary"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, src, plats, build.WithBinaryCache(cache))
	if strings.Contains(strings.Join(out.Cached, ","), "alpha") {
		t.Errorf("an altered entry was used: cached %v", out.Cached)
	}
	if again := run(t, src, plats, build.WithBinaryCache(cache)); len(again.Cached) != 2 {
		t.Errorf("the altered entry was not replaced: cached %v", again.Cached)
	}
}
