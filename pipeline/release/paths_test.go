package release_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// Three checkouts of one commit at different paths, two without a remote (one copied from
// the other) and one cloned from the first (its origin a local path), release the same
// bytes: no artifact, manifest or provenance names a directory of the building machine, and
// the repository is left out.
func TestReleaseDoesNotDependOnTheCheckoutPath(t *testing.T) {
	first := project(t, "multi")
	second := filepath.Join(t.TempDir(), "elsewhere", "multi")
	if out, err := exec.Command("git", "clone", "-q", first, second).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	third := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(third, os.DirFS(first)); err != nil {
		t.Fatal(err)
	}
	checkouts := []string{first, second, third}
	k := key(t)
	bundles := make([]map[string][]byte, len(checkouts))
	for i, src := range checkouts {
		out := filepath.Join(t.TempDir(), "dist")
		res, err := release.Run(context.Background(), release.Input{Source: src, Out: out, Version: "v1.0.0", Key: k, Platforms: []string{"linux/amd64"}})
		if err != nil {
			t.Fatalf("release of %s: %v", src, err)
		}
		if res.Manifest.Source.Repository != "" {
			t.Errorf("%s: the manifest names the repository %q", src, res.Manifest.Source.Repository)
		}
		bundles[i] = publishedBytes(t, out, k.PublicKey())
		for name, data := range bundles[i] {
			for _, dir := range checkouts {
				if bytes.Contains(data, []byte(dir)) {
					t.Errorf("%s of the release of %s holds the path %s", name, src, dir)
				}
			}
		}
	}
	for i := 1; i < len(checkouts); i++ {
		if len(bundles[i]) != len(bundles[0]) {
			t.Fatalf("%d files against %d", len(bundles[i]), len(bundles[0]))
		}
		for name, data := range bundles[0] {
			if !bytes.Equal(data, bundles[i][name]) {
				t.Errorf("%s differs between %s and %s", name, checkouts[0], checkouts[i])
			}
		}
	}
}

// publishedBytes reads what a release publishes about its source, signature-free so that
// two releases can be compared byte for byte: the artifacts, the manifest and the signed
// provenance statement.
func publishedBytes(t *testing.T, dir string, pub *keys.PublicKey) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(dir, bundle.ArtifactsDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil || len(files) < 3 {
		t.Fatalf("artifacts: %v (%d files)", err, len(files))
	}
	if files[bundle.ManifestFile], err = os.ReadFile(filepath.Join(dir, bundle.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := trust.NewKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	if files["provenance statement"], _, err = tk.VerifyDSSE(sig, attest.PayloadType); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(files["provenance statement"]), `"repository"`) {
		t.Errorf("the provenance names a repository: %s", files["provenance statement"])
	}
	return files
}
