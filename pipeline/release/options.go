package release

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/version"
)

// Option configures a release. The zero configuration freezes strictly, builds once, and
// verifies the result.
type Option func(*settings) error

type settings struct {
	log          *slog.Logger
	reproduce    bool
	freezeAllow  []freeze.Check
	toolchain    string
	modCache     string
	goCache      string
	binCache     string
	goBin        string
	repository   string
	ref          string
	time         time.Time // the release time; zero: from the commit (SOURCE_DATE_EPOCH first)
	versionOpts  []version.Option
	imageBase    string
	attestations []string
	bench        *benchSettings
}

func newSettings(opts []Option) (*settings, error) {
	s := &settings{log: quietLogger()}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRelease, err)
		}
	}
	return s, nil
}

// WithLogger sends every stage's structured log to l.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.log = l; return nil }
}

// WithReproducibilityCheck builds the release a second time, in another directory with an
// empty GOCACHE, compares every artifact, fails on any difference (naming the artifact and
// where it first differs), and signs the result into the bundle.
func WithReproducibilityCheck() Option {
	return func(s *settings) error { s.reproduce = true; return nil }
}

// AllowFreeze waives freeze checks a user has a real reason to waive; the lock records it.
func AllowFreeze(checks ...freeze.Check) Option {
	return func(s *settings) error { s.freezeAllow = append(s.freezeAllow, checks...); return nil }
}

// WithToolchain chooses the build toolchain (freeze.WithToolchain): freeze.ToolchainGoMod
// (the default) or freeze.ToolchainLocal; the lock records it.
func WithToolchain(mode string) Option {
	return func(s *settings) error { s.toolchain = mode; return nil }
}

// WithModCache and WithGoCache set where modules and build results are cached.
func WithModCache(dir string) Option { return func(s *settings) error { s.modCache = dir; return nil } }

// WithGoCache sets the build cache directory.
func WithGoCache(dir string) Option { return func(s *settings) error { s.goCache = dir; return nil } }

// WithBinaryCache reuses binaries an earlier release linked from the same inputs
// (build.WithBinaryCache), and stores new ones in dir. The reproducibility check never
// reads it: with WithReproducibilityCheck both builds link.
func WithBinaryCache(dir string) Option {
	return func(s *settings) error { s.binCache = dir; return nil }
}

// WithGo uses the given go binary instead of the one on PATH.
func WithGo(path string) Option { return func(s *settings) error { s.goBin = path; return nil } }

// WithRepository names the source repository (default: git's remote.origin.url).
func WithRepository(url, ref string) Option {
	return func(s *settings) error { s.repository, s.ref = url, ref; return nil }
}

// WithTime fixes the release time instead of taking it from the commit.
func WithTime(t time.Time) Option { return func(s *settings) error { s.time = t; return nil } }

// WithImageBase builds the OCI image on a base image read from an OCI layout tarball.
func WithImageBase(path string) Option {
	return func(s *settings) error { s.imageBase = path; return nil }
}

// AllowVersionNotGreaterUnsafe releases a version that is not greater than the latest
// release tag (a re-release, or a backport line). Unsafe: users may miss the release.
func AllowVersionNotGreaterUnsafe() Option {
	return func(s *settings) error {
		s.versionOpts = append(s.versionOpts, version.AllowNotGreaterUnsafe())
		return nil
	}
}
