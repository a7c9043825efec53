// Package build is the build stage: it compiles a Go project reproducibly for a list of
// platforms and packages the results as release artifacts: one archive per platform
// (NAME_VERSION_OS_ARCH.tar.gz, .zip for windows) holding the binaries and LICENSE/README,
// an OCI image layout tarball of the linux binaries (NAME_VERSION.oci.tar, a multi-platform
// index), and a docs bundle (NAME_VERSION_docs.tar.gz).
//
// Contract:
//   - Every `go build` runs with a clean environment (nothing inherited but locations:
//     PATH to the go binary, HOME, GOCACHE, GOMODCACHE, GOPATH, TMPDIR), GOENV=off,
//     CGO_ENABLED=0, GOFLAGS=-mod=readonly, GOPROXY=off, GOTOOLCHAIN=local (or the version
//     the lock pins, taken from the module cache once it matches the lock's hash), GOWORK=off,
//     the baseline GOAMD64/GOARM64, and -trimpath -buildvcs=false -gcflags=all=-dwarf=false
//     -ldflags="-s -w -buildid= -X ...". So the build is hermetic (it fails rather than
//     download: the freeze stage fills the module cache) and its bytes depend only on the
//     source, the toolchain, the platform and the stamped values, not on the machine, the
//     paths, the user's Go settings or the GOCACHE.
//   - Builds run in parallel, at most GOMAXPROCS at a time.
//   - Archives and images use the commit time (an explicit option, else SOURCE_DATE_EPOCH,
//     else the git HEAD commit time; never the wall clock) and pipeline/archive's
//     normalization, so they are byte-for-byte reproducible.
//   - One CycloneDX SBOM per binary is written under OutDir/sboms/ (pipeline/sbom), from the
//     build info of the binary just built, checked against the lock: a module the lock does
//     not name fails the build. The subjects are the archive and image that ship the binary.
//   - Artifacts are written under OutDir/artifacts/ (which must be empty or absent), each
//     atomically; the Output lists them with size and SHA-256, and records the exact
//     commands and environment, and the toolchain, for replay and provenance.
package build

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/config"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/image"
)

// Schema identifies the Output format.
const Schema = "https://reliquary.dev/build/v1"

// Input is what to build.
type Input struct {
	// Source is the module root (the directory holding go.mod).
	Source string
	// Version is stamped and names the artifacts (letters, digits, . _ + -).
	Version string
	// Commit is stamped and labels the image; empty means the source's git HEAD (and
	// nothing is stamped when there is none).
	Commit string
	// Platforms to build, "os/arch"; empty means the config's, else config.DefaultPlatforms.
	Platforms []string
	// OutDir is the bundle root; artifacts go to OutDir/artifacts/.
	OutDir string
	// Config is the parsed reliquary.yaml; nil means config.Load(Source).
	Config *config.Config
}

// Option adjusts Run.
type Option func(*settings) error

type settings struct {
	goBin, goCache, modCache string
	time                     time.Time
	imageBase                string
	repository               string
	parallel                 int
	lock                     *freeze.Lock
	log                      *slog.Logger
	binCache                 string
}

// WithGo builds with the given go binary instead of the one on PATH.
func WithGo(path string) Option { return func(s *settings) error { s.goBin = path; return nil } }

// WithGoCache uses dir as GOCACHE instead of the user's build cache.
func WithGoCache(dir string) Option {
	return func(s *settings) (err error) { s.goCache, err = filepath.Abs(dir); return err }
}

// WithModCache uses dir as GOMODCACHE (where the freeze stage downloaded modules).
func WithModCache(dir string) Option {
	return func(s *settings) (err error) { s.modCache, err = filepath.Abs(dir); return err }
}

// WithTime sets the commit time explicitly (it wins over SOURCE_DATE_EPOCH and git).
func WithTime(t time.Time) Option {
	return func(s *settings) error {
		if t.IsZero() {
			return fmt.Errorf("build: WithTime: zero time")
		}
		s.time = t
		return nil
	}
}

// WithImageBase builds the image on an OCI image layout tarball instead of the config's base.
func WithImageBase(path string) Option {
	return func(s *settings) error { s.imageBase = path; return nil }
}

// WithRepository sets the source repository URL for the image label, over the config's.
func WithRepository(url string) Option {
	return func(s *settings) error { s.repository = url; return nil }
}

// WithParallelism bounds concurrent go builds (default GOMAXPROCS).
func WithParallelism(n int) Option {
	return func(s *settings) error {
		if n < 1 {
			return fmt.Errorf("build: parallelism %d < 1", n)
		}
		s.parallel = n
		return nil
	}
}

// WithLock checks the build against a frozen dependency set: go.mod/go.sum must be the ones
// the lock records, and the build runs with its toolchain: the local go command, which must
// be the recorded version, or the pinned one (GOTOOLCHAIN=<version>), whose copy in the
// module cache must hash to the lock's sum.
func WithLock(l *freeze.Lock) Option { return func(s *settings) error { s.lock = l; return nil } }

// WithBinaryCache reuses binaries linked by an earlier build with the same CacheKey from
// dir, and stores the ones it links there (DefaultBinaryCache is the usual place). A
// reproducibility check or a replay must not use it: they exist to link again.
func WithBinaryCache(dir string) Option {
	return func(s *settings) (err error) { s.binCache, err = filepath.Abs(dir); return err }
}

// WithLogger logs progress to l.
func WithLogger(l *slog.Logger) Option { return func(s *settings) error { s.log = l; return nil } }

// Output is what the build produced and how.
type Output struct {
	Schema     string        `json:"schema"`
	Project    string        `json:"project"`
	Module     string        `json:"module"`
	Version    string        `json:"version"`
	Commit     string        `json:"commit,omitempty"`
	CommitTime time.Time     `json:"commitTime"`
	TimeSource string        `json:"timeSource"` // option, SOURCE_DATE_EPOCH or git
	Toolchain  Toolchain     `json:"toolchain"`
	Platforms  []string      `json:"platforms"`
	Targets    []Target      `json:"targets"`
	Commands   []Command     `json:"commands"`
	Artifacts  artifact.List `json:"artifacts"`
	Image      *image.Output `json:"image,omitempty"`
	Skipped    []Skip        `json:"skipped,omitempty"`
	SBOMs      []SBOM        `json:"sboms,omitempty"` // one per binary, under OutDir/sboms/ (not artifacts)
	// Cached lists the binaries reused from the binary cache instead of linked, as
	// "os/arch name", sorted.
	Cached []string `json:"cached,omitempty"`
	// CachedArtifacts lists the archives and image copied from the pack cache instead of
	// written (compressed) again, by file name, sorted.
	CachedArtifacts []string `json:"cachedArtifacts,omitempty"`
	// OutDir is the bundle root the artifact paths are relative to.
	OutDir string `json:"-"`
}

// CacheNotes says which binaries and artifacts came from the caches, for the build's link
// (its byproducts); nil when everything was built by this run.
func (o *Output) CacheNotes() map[string]string {
	notes := map[string]string{}
	if len(o.Cached) > 0 {
		notes["binary-cache"] = strings.Join(o.Cached, ", ")
	}
	if len(o.CachedArtifacts) > 0 {
		notes["pack-cache"] = strings.Join(o.CachedArtifacts, ", ")
	}
	if len(notes) == 0 {
		return nil
	}
	return notes
}

// Command is one go build as run, for replay and provenance. Env holds only the settings
// that decide the output (see the package doc); locations are left out. The binary of each
// target is written to the -o directory under its default name (the package's last path
// element, .exe on windows); archives and the image name it Target.Binary.
type Command struct {
	Platform string   `json:"platform"`
	Targets  []Target `json:"targets"`
	Dir      string   `json:"dir"`  // relative to Source: always "."
	Args     []string `json:"args"` // argv after "go"; -o names a directory relative to the work dir
	Env      []string `json:"env"`  // sorted
}

// Skip records an artifact or stamp that was not produced, and why.
type Skip struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
}

// Tree is the Output's artifacts with the directory they live in, for Compare.
func (o *Output) Tree() Tree { return Tree{Dir: o.OutDir, Artifacts: o.Artifacts} }

// Validate checks the Output's fields.
func (o *Output) Validate() error {
	switch {
	case o.Schema != Schema:
		return fmt.Errorf("schema: %q", o.Schema)
	case o.Project == "" || o.Version == "" || o.Module == "":
		return fmt.Errorf("project, module and version must be set")
	case o.CommitTime.IsZero():
		return fmt.Errorf("commitTime: zero")
	case o.Toolchain.Version == "":
		return fmt.Errorf("toolchain.version: empty")
	case len(o.Artifacts) == 0:
		return fmt.Errorf("artifacts: none")
	}
	return o.Artifacts.Validate()
}

// Run builds in.Source for every platform and writes the artifacts.
func Run(ctx context.Context, in Input, opts ...Option) (*Output, error) {
	s := &settings{parallel: runtime.GOMAXPROCS(0), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	r, err := newRunner(ctx, in, s)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(r.work)
	return r.run(ctx)
}

func findGo(s *settings) error {
	if s.goBin != "" {
		return nil
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build: the go command is needed: %w", err)
	}
	s.goBin, err = filepath.Abs(p)
	return err
}
