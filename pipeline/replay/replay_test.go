package replay_test

import (
	"context"
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

	// The auditor's clean copy of the source at the attested commit reproduces everything,
	// the dependency set included: the replay pins the base images the release pinned.
	res, err := replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reproduced || len(res.Comparison.Reproduced) == 0 || res.Params.Commit != repo.Head() || res.Params.Platforms[0] != "linux/amd64" ||
		len(res.Params.Images) != 1 || !strings.HasSuffix(res.Params.Images[0], "/library/golang@sha256:"+strings.SplitN(pinnedImage, ":", 2)[1]) {
		t.Fatalf("replay of unchanged source: %s %+v", res.Summary(), res.Params)
	}

	// One changed source byte: the tree is not the attested one, and the rebuilt binaries differ.
	main := filepath.Join(src, "cmd", "alpha", "main.go")
	data, _ := os.ReadFile(main)
	os.WriteFile(main, []byte(strings.Replace(string(data), `"alpha"`, `"alphA"`, 1)), 0o644)
	res, err = replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary()
	if res.Reproduced || !strings.Contains(sum, "not the attested source") || !strings.Contains(sum, "DIFFERS artifacts/") {
		t.Fatalf("replay of changed source:\n%s", sum)
	}

	// A bundle that does not verify is not replayed.
	other, _ := keys.Generate()
	res, err = replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: []*keys.PublicKey{other.PublicKey()}})
	if err != nil || res.Reproduced || res.Comparison != nil || len(res.Problems) == 0 {
		t.Fatalf("replay with an untrusted key: %v %+v", err, res)
	}
}
