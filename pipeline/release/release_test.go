package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// project copies a test project into a fresh git repository with one commit.
func project(t testing.TB, name string) string {
	t.Helper()
	dir := buildtest.Project(t, name)
	repo := gittest.NewIn(t, dir)
	repo.Git("add", "-A")
	repo.Commit("feat: first release")
	return dir
}

func key(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReleaseVerifiesAndIsReproducible(t *testing.T) {
	src := project(t, "multi")
	k := key(t)
	out := filepath.Join(t.TempDir(), "dist")
	res, err := release.Run(context.Background(), release.Input{
		Source: src, Out: out, Version: "v1.0.0", Key: k, Platforms: []string{"linux/amd64", "windows/amd64"},
	}, release.WithReproducibilityCheck())
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if !res.Report.Verified || !res.Report.Authenticated || res.Reproduction == nil || !res.Reproduction.OK() {
		t.Fatalf("release result: %+v %+v", res.Report.Findings, res.Reproduction)
	}
	kinds := map[artifact.Kind]int{}
	for _, a := range res.Manifest.Artifacts {
		kinds[a.Kind]++
	}
	if kinds[artifact.KindArchive] != 2 || kinds[artifact.KindImage] != 1 || kinds[artifact.KindDocs] != 1 || kinds[artifact.KindMetadata] != 5 { // the lock and 2x2 SBOMs
		t.Fatalf("artifact kinds = %v", kinds)
	}
	for _, f := range []string{bundle.ManifestSigFile, bundle.ProvenanceFile, bundle.ReproSigFile, bundle.LayoutFile, bundle.VSAFile, "keys/release.pub",
		"sboms/alpha_linux_amd64.cdx.json", "sboms/beta_windows_amd64.cdx.json.sigstore.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("bundle lacks %s", f)
		}
	}
	// The gate's unsigned JSON report is not kept in the bundle: the signed summary is.
	if _, err := os.Stat(filepath.Join(out, bundle.VerificationFile)); err == nil {
		t.Errorf("the bundle holds %s, an unsigned report", bundle.VerificationFile)
	}
	// An independent gate run with only the public key accepts the bundle.
	r, err := verify.Run(context.Background(), out, verify.WithKeys(k.PublicKey()))
	if err != nil || !r.Verified || !r.Authenticated {
		t.Fatalf("gate: %v %+v", err, r.Findings)
	}
	checkSBOMTampering(t, out, k, res.Manifest)
	if md, err := os.ReadFile(filepath.Join(out, bundle.NotesFile)); err != nil || !strings.Contains(string(md), "## Software bill of materials") ||
		!strings.Contains(string(md), "- Toolchain: go1.") || !strings.Contains(string(md), "- Direct dependencies: none") ||
		!strings.Contains(string(md), "--type cyclonedx") {
		t.Errorf("the release notes lack the SBOM section: %v\n%s", err, md)
	}
	// The runner ran exactly the shared stage list, in order (bench skipped, not asked).
	var ran []string
	for _, rec := range res.Trail {
		ran = append(ran, rec.Stage)
	}
	var want []string
	for _, st := range release.Stages {
		want = append(want, st.Name)
	}
	if !slices.Equal(ran, want) {
		t.Errorf("the runner's stages = %v; release.Stages = %v", ran, want)
	}
	// No staging directory is left behind.
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("output parent holds %d entries, want only dist", len(entries))
	}
}

func TestReleaseRefusesBadInput(t *testing.T) {
	src := project(t, "multi")
	k := key(t)
	existing := t.TempDir()
	for name, in := range map[string]release.Input{
		"output exists":   {Source: src, Out: existing, Version: "v1.0.0", Key: k},
		"bad version":     {Source: src, Out: filepath.Join(t.TempDir(), "d"), Version: "1.0", Key: k},
		"rc without dot":  {Source: src, Out: filepath.Join(t.TempDir(), "d"), Version: "v1.0.0-rc1", Key: k},
		"no key":          {Source: src, Out: filepath.Join(t.TempDir(), "d"), Version: "v1.0.0"},
		"not a git repo":  {Source: buildtest.Project(t, "multi"), Out: filepath.Join(t.TempDir(), "d"), Version: "v1.0.0", Key: k},
		"out inside tree": {Source: src, Out: filepath.Join(src, "cmd", "out"), Version: "v1.0.0", Key: k},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := release.Run(context.Background(), in)
			if err == nil {
				t.Fatal("release succeeded")
			}
			if errors.Is(err, release.ErrGate) {
				t.Fatalf("bad input reported as a failed gate: %v", err)
			}
			if name != "output exists" {
				if _, statErr := os.Stat(in.Out); statErr == nil {
					t.Fatal("a failed release left its output directory")
				}
			}
		})
	}
}
