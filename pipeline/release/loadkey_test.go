package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
)

// TestReleaseLoadsTheKeyInTheBackground: a key given as a loader signs the release like a
// key given outright; a loader that fails fails the release with its error, and no bundle
// is left.
func TestReleaseLoadsTheKeyInTheBackground(t *testing.T) {
	src := project(t, "multi")
	k := key(t)
	errWrongPassword := errors.New("wrong password")
	for _, tc := range []struct {
		name string
		load func() (*keys.PrivateKey, error)
		want error
	}{
		{"loads", func() (*keys.PrivateKey, error) { return k, nil }, nil},
		{"fails", func() (*keys.PrivateKey, error) { return nil, errWrongPassword }, errWrongPassword},
	} {
		out := filepath.Join(t.TempDir(), "dist")
		res, err := release.Run(context.Background(), release.Input{Source: src, Out: out, Version: "v1.0.0", LoadKey: tc.load, Platforms: []string{"linux/amd64"}},
			release.WithBinaryCache(filepath.Join(t.TempDir(), "bin")))
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: release error %v, want %v", tc.name, err, tc.want)
		}
		_, statErr := os.Stat(out)
		if tc.want == nil && (!res.Report.Verified || !res.Report.Authenticated || statErr != nil) {
			t.Errorf("%s: release not verified: %+v (%v)", tc.name, res.Report.Findings, statErr)
		}
		if tc.want != nil && statErr == nil {
			t.Errorf("%s: a failed release left %s", tc.name, out)
		}
	}
}
