package replay_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/replay"
)

// pinnedImage is a base image the release pins, as the Dagger module pins its own.
const pinnedImage = "docker.io/library/golang@sha256:c98c2b3c8869d972134d2da76252e2c0e64a0af0d1ffe54ab7ea270199827cb4"

func TestReplay(t *testing.T) {
	src := buildtest.Project(t, "multi")
	repo := gittest.NewIn(t, src)
	repo.Git("add", "-A")
	repo.Commit("feat: first")
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	if _, err := release.Run(context.Background(), release.Input{Source: src, Out: dist, Version: "v1.0.0", Key: k, Platforms: []string{"linux/amd64"}, Images: []string{pinnedImage}}); err != nil {
		t.Fatal(err)
	}
	pubs := []*keys.PublicKey{k.PublicKey()}
	// The host's build cache, as the go command finds it: the rebuild must not use it unless
	// asked to, since the release compiled into it. (The freeze step's go mod commands keep
	// Go's module index there, file metadata that changes no byte of the output; compiled
	// packages, archives, are what a rebuild would reuse.)
	hostCache := filepath.Join(t.TempDir(), "gocache")
	t.Setenv("GOCACHE", hostCache)

	// The auditor's clean copy of the source at the attested commit reproduces everything,
	// the dependency set included: the replay pins the base images the release pinned.
	res, err := replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	if n := compiledPackages(t, hostCache); n > 0 || res.ReusedBuildCache || !strings.Contains(res.Summary(), "empty private build cache") {
		t.Fatalf("a default replay compiled %d packages into the host GOCACHE, or says it reused it: %s", n, res.Summary())
	}
	if !res.Reproduced || len(res.Comparison.Reproduced) == 0 || res.Params.Commit != repo.Head() || res.Params.Platforms[0] != "linux/amd64" ||
		len(res.Params.Images) != 1 || !strings.HasSuffix(res.Params.Images[0], "/library/golang@sha256:"+strings.SplitN(pinnedImage, ":", 2)[1]) {
		t.Fatalf("replay of unchanged source: %s %+v", res.Summary(), res.Params)
	}

	// One changed source byte: the tree is not the attested one, and the rebuilt binaries differ.
	main := filepath.Join(src, "cmd", "alpha", "main.go")
	data, _ := os.ReadFile(main)
	os.WriteFile(main, []byte(strings.Replace(string(data), `"alpha"`, `"alphA"`, 1)), 0o644)
	// (This rebuild opts in to the host's build cache, and says so.)
	res, err = replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs, ReuseBuildCache: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary()
	if res.Reproduced || !strings.Contains(sum, "not the attested source") || !strings.Contains(sum, "DIFFERS artifacts/") {
		t.Fatalf("replay of changed source:\n%s", sum)
	}
	if n := compiledPackages(t, hostCache); n == 0 || !res.ReusedBuildCache || !strings.Contains(sum, "--reuse-build-cache") {
		t.Fatalf("--reuse-build-cache: %d compiled packages in the host GOCACHE, result %v:\n%s", n, res.ReusedBuildCache, sum)
	}

	// A bundle that does not verify is not replayed.
	other, _ := keys.Generate()
	res, err = replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: []*keys.PublicKey{other.PublicKey()}})
	if err != nil || res.Reproduced || res.Comparison != nil || len(res.Problems) == 0 {
		t.Fatalf("replay with an untrusted key: %v %+v", err, res)
	}
}

// compiledPackages counts the compiled packages (Go archives) in a build cache directory.
func compiledPackages(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		head := make([]byte, 8)
		if _, err := io.ReadFull(f, head); err == nil && string(head) == "!<arch>\n" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
