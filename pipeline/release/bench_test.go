package release_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/verify"
)

func TestReleaseWithBenchmarks(t *testing.T) {
	src := filepath.Join(t.TempDir(), "benchproj")
	if err := buildtest.CopyTree(filepath.Join("..", "bench", "testdata", "benchproj"), src); err != nil {
		t.Fatal(err)
	}
	repo := gittest.NewIn(t, src)
	repo.Git("add", "-A")
	repo.Commit("feat: work")
	k := key(t)
	out := filepath.Join(t.TempDir(), "dist")
	res, err := release.Run(context.Background(), release.Input{Source: src, Out: out, Version: "v0.1.0", Key: k, Platforms: []string{"linux/amd64"}},
		release.WithBench(bench.Input{Bench: ".", Count: 4, BenchTime: "20x"}))
	if err != nil {
		t.Fatalf("release --bench: %v", err)
	}
	if res.Bench == nil || res.Bench.Gate.Status != "skipped" || !res.Manifest.Declares(bundle.AttestBenchmark) {
		t.Fatalf("bench result %+v, declared %v", res.Bench, res.Manifest.Attestations)
	}
	// The signed benchmark record verifies; a flipped byte in it does not.
	sig := filepath.Join(out, bundle.BenchSigFile)
	data, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	os.WriteFile(sig, data, 0o644)
	r, err := verify.Run(context.Background(), out, verify.WithKeys(k.PublicKey()))
	if err != nil || r.Verified {
		t.Fatalf("tampered benchmark record verified: %v", err)
	}
	for _, f := range r.Findings {
		if f.File == bundle.BenchSigFile && f.Status == verify.Fail {
			return
		}
	}
	t.Fatalf("no finding names %s: %+v", bundle.BenchSigFile, r.Findings)
}
