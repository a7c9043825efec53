package build_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// TestLockedToolchain: with a lock that pins a toolchain, or without a lock when go.mod pins
// one, every go build runs with GOTOOLCHAIN=<it> (recorded); and the build refuses a lock whose toolchain hash the module
// cache's copy does not match, or that names another host's build.
func TestLockedToolchain(t *testing.T) {
	const pinned = "go1.22.6"
	buildtest.NeedToolchain(t, pinned)
	src := filepath.Join(t.TempDir(), "hello")
	buildtest.WriteFile(t, src, "go.mod", "module example.com/hello\n\ngo 1.22\n\ntoolchain "+pinned+"\n")
	buildtest.WriteFile(t, src, "main.go", "package main\n\nfunc main() { println(\"hello\") }\n")
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: src})
	if err != nil {
		t.Fatal(err)
	}
	run := func(l *freeze.Lock) (*build.Output, error) {
		return build.Run(context.Background(), build.Input{Source: src, Version: "v1.0.0", Commit: "abc", Platforms: []string{"linux/amd64"},
			OutDir: t.TempDir()}, build.WithTime(commitTime), build.WithLock(l))
	}
	for _, l := range []*freeze.Lock{lock, nil} { // without a lock, go.mod's pin decides
		out, err := run(l)
		if err != nil {
			t.Fatal(err)
		}
		if out.Toolchain.Version != pinned || !strings.Contains(out.Toolchain.GoVersion, pinned) || !slices.Contains(out.Commands[0].Env, "GOTOOLCHAIN="+pinned) {
			t.Errorf("lock %v: toolchain %+v, env %v", l != nil, out.Toolchain, out.Commands[0].Env)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(p *freeze.Pinned)
		want   string
	}{
		{"other hash", func(p *freeze.Pinned) { p.Sum = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, "hashes to"},
		{"other host", func(p *freeze.Pinned) { p.Module = strings.TrimSuffix(p.Module, ".linux-amd64") + ".plan9-386" }, "this host needs"},
	} {
		bad := *lock
		p := *lock.Toolchain.Pinned
		tc.change(&p)
		bad.Toolchain.Pinned = &p
		if err := bad.Seal(); err != nil {
			t.Fatal(err)
		}
		if _, err := run(&bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
