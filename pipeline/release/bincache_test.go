package release_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/release"
)

// TestReleaseBinaryCache: a second release of the same commit takes its binaries from the
// binary cache, and its freeze skips go mod verify by the memo beside it, says both in the
// audit summary, and publishes the same bytes; with the reproducibility check neither is
// read (and the artifacts are still the same).
func TestReleaseBinaryCache(t *testing.T) {
	src := project(t, "multi")
	k := key(t)
	cache := filepath.Join(t.TempDir(), "bin")
	const note = "Binaries from the binary cache"
	var published []map[string][]byte
	for i, tc := range []struct {
		name      string
		opts      []release.Option
		fromCache bool
	}{
		{"first", nil, false},
		{"second", nil, true},
		{"reproducible", []release.Option{release.WithReproducibilityCheck()}, false},
	} {
		out := filepath.Join(t.TempDir(), "dist")
		_, err := release.Run(context.Background(), release.Input{Source: src, Out: out, Version: "v1.0.0", Key: k, Platforms: []string{"linux/amd64"}},
			append(tc.opts, release.WithBinaryCache(cache))...)
		if err != nil {
			t.Fatalf("%s release: %v", tc.name, err)
		}
		summary := read(t, out, bundle.AuditSummaryFile)
		if got := strings.Contains(summary, note+" "); got != tc.fromCache {
			t.Errorf("%s release: audit summary names cached binaries = %v, want %v", tc.name, got, tc.fromCache)
		}
		// The freeze's go mod verify is remembered beside the binaries, and skipped likewise.
		if got := strings.Contains(summary, "go-mod-verify: memo: the module cache is unchanged"); got != tc.fromCache {
			t.Errorf("%s release: audit summary says go mod verify came from the memo = %v, want %v", tc.name, got, tc.fromCache)
		}
		if tc.fromCache && !strings.Contains(summary, "linux/amd64 alpha, linux/amd64 beta") {
			t.Errorf("%s release: the summary does not list the cached binaries", tc.name)
		}
		published = append(published, publishedBytes(t, out, k.PublicKey()))
		for name, data := range published[0] {
			if tc.opts != nil && !strings.HasPrefix(name, bundle.ArtifactsDir+"/") {
				continue // the reproducibility check adds an attestation to the manifest
			}
			if !bytes.Equal(data, published[i][name]) {
				t.Errorf("%s release: %s differs from the first release's", tc.name, name)
			}
		}
	}
}
