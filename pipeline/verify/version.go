package verify

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// ProblemWrongRelease: the bundle is intact and signed, but it is not the release the caller
// expected (an older release served again, or another project's).
const ProblemWrongRelease = "wrong-release"

// WithExpectedVersion fails the gate unless the manifest names this version (and, when
// project is not empty, this project). A signature proves who made a release, not which one:
// a rolled-back or swapped bundle is a complete, validly signed release of another version,
// and only the caller knows which version it meant to fetch.
func WithExpectedVersion(version, project string) Option {
	return func(c *config) error {
		if version == "" {
			return fmt.Errorf("verify: expected version: empty")
		}
		c.checks = append(c.checks, releaseCheck{version: version, project: project})
		return nil
	}
}

// releaseCheck compares the manifest's version and project with the expected ones.
type releaseCheck struct{ version, project string }

func (releaseCheck) Name() string { return "release" }

func (c releaseCheck) Run(_ context.Context, s *Session) {
	f := Finding{Check: "release", File: bundle.ManifestFile}
	if s.Manifest == nil {
		f.Status, f.Problem, f.Message = Skip, ProblemNotChecked, "not checked: the manifest is unusable"
		s.Add(f)
		return
	}
	want, got := c.version, s.Manifest.Version
	if c.project != "" {
		want, got = c.project+" "+want, s.Manifest.Project+" "+got
	}
	if want != got {
		s.Add(failed(f, ProblemWrongRelease, want, got, "the bundle is another release than the one expected",
			"a rolled-back or swapped bundle is still validly signed: fetch the release you meant to gate, or fix the expected version"))
		return
	}
	f.Status, f.Message = Pass, "the expected release: "+got
	s.Add(f)
}
