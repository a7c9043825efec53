// Package release runs the whole pipeline on a host, without a container engine: freeze,
// build, (rebuild and compare,) digest, sign, attest, notes, escrow and verify, each stage
// taking the previous stage's typed output. It produces the same bundle layout as the
// Dagger module, and the provenance says honestly which builder ran it.
//
// Crash safety: everything is written into a staging directory next to the output and
// renamed into place only after the gate has verified it, so a killed release never leaves
// an output directory the gate would accept, and a re-run starts clean.
package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentientos/reliquary/pipeline/sbom"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ErrRelease is the root of the runner's own errors (bad input, output in the way).
var ErrRelease = errors.New("release")

// ErrGate is wrapped by errors from a gate that ran and failed: reproducibility, benchmark
// regressions, or the final verification. The CLI maps it to exit code 1.
var ErrGate = errors.New("release gate failed")

// Input is what to release.
type Input struct {
	Source    string           // the project: a Go module root
	Out       string           // the bundle directory to create; must not exist
	Version   string           // e.g. v1.0.0 or v1.0.0-rc.1
	Key       *keys.PrivateKey // the release key
	KeyName   string           // file stem for keys/NAME.pub (default "release")
	Platforms []string         // os/arch; empty: the project's reliquary.yaml, else the defaults
	Images    []string         // base images the build used, name@sha256:... (container builders)
	Builder   attest.Builder   // who runs the build (default: this host)
	// InvocationID identifies the run in the provenance (default: derived from the
	// source commit and version, so that the same release gives the same bytes).
	InvocationID string
	// LoadKey, when Key is nil, loads the release key in the background while the stages
	// before signing run (an encrypted key's scrypt takes about half a second); the run
	// waits for it after the build and fails with its error.
	LoadKey func() (*keys.PrivateKey, error)
}

// Result is what a release produced.
type Result struct {
	Dir          string
	Manifest     *bundle.Manifest
	Report       *verify.Report
	Trail        []trail.Record
	Reproduction *build.Comparison // nil unless the reproducibility check ran
	Bench        *bench.Report     // nil unless benchmarks ran
}

// Run releases in.Source into in.Out.
func Run(ctx context.Context, in Input, opts ...Option) (*Result, error) {
	s, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	if err := checkInput(&in); err != nil {
		return nil, err
	}
	stage, err := stagingDir(in.Out)
	if err != nil {
		return nil, err
	}
	r := &run{in: in, s: s, stage: stage, trail: trail.New(s.log), sboms: sbom.NewMemo()}
	r.startKey()
	res, err := r.all(ctx)
	if err != nil {
		os.RemoveAll(stage)
		return res, err
	}
	if err := os.Rename(stage, in.Out); err != nil {
		os.RemoveAll(stage)
		return nil, fmt.Errorf("%w: move the finished bundle into place: %v", ErrRelease, err)
	}
	res.Dir = in.Out
	return res, nil
}

func checkInput(in *Input) error {
	switch {
	case in.Source == "":
		return fmt.Errorf("%w: no source directory", ErrRelease)
	case in.Out == "":
		return fmt.Errorf("%w: no output directory", ErrRelease)
	case in.Key == nil && in.LoadKey == nil:
		return fmt.Errorf("%w: no signing key", ErrRelease)
	}
	if in.KeyName == "" {
		in.KeyName = "release"
	}
	if in.Builder.ID == "" {
		in.Builder.ID = attest.BuilderHost
	}
	if _, err := os.Lstat(in.Out); err == nil {
		return fmt.Errorf("%w: %s already exists; a release never overwrites one (remove it or choose another --out)", ErrRelease, in.Out)
	}
	abs, err := filepath.Abs(in.Source)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRelease, err)
	}
	if inSourceTree(abs, in.Out) {
		return fmt.Errorf("%w: %s is inside the source tree and would change its digest; use dist/ or a directory outside", ErrRelease, in.Out)
	}
	in.Source = abs
	return nil
}

// inSourceTree reports whether out lies in the source tree at src, other than under the
// excluded top-level names (dist/), where outputs belong.
func inSourceTree(src, out string) bool {
	abs, err := filepath.Abs(out)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(src, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false
	}
	top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
	return !slices.Contains(source.DefaultExcludes, top)
}

// stagingDir makes the directory a release is assembled in: next to the output (so the
// final rename stays on one file system) and named so that it is never mistaken for it.
func stagingDir(out string) (string, error) {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrRelease, err)
	}
	dir, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRelease, err)
	}
	return dir, nil
}

// run is one release in progress. Each method is one stage; each returns the typed output
// the next stage takes.
type run struct {
	in    Input
	s     *settings
	stage string
	trail *trail.Trail
	key   chan keyResult // the key loading in the background; nil once in.Key is set
	// sboms carries the SBOM checks the audit's gate passed to the seal's gate, over the
	// same artifacts (sbom.Memo says why that is sound).
	sboms *sbom.Memo
}

type keyResult struct {
	key *keys.PrivateKey
	err error
}

// startKey starts loading the key when the input gives a loader instead of a key.
func (r *run) startKey() {
	if r.in.Key != nil {
		return
	}
	r.key = make(chan keyResult, 1)
	go func() {
		k, err := r.in.LoadKey()
		r.key <- keyResult{k, err}
	}()
}

// awaitKey waits for the key started by startKey; every stage after it may use r.in.Key.
func (r *run) awaitKey() error {
	if r.key == nil {
		return nil
	}
	res := <-r.key
	r.key = nil
	if res.err != nil {
		return fmt.Errorf("%w: %w", ErrRelease, res.err)
	}
	r.in.Key = res.key
	return nil
}

func (r *run) all(ctx context.Context) (*Result, error) {
	r.declareEscrow()
	src, err := r.describe(ctx)
	if err != nil {
		return nil, err
	}
	lock, err := r.freeze(ctx)
	if err != nil {
		return nil, err
	}
	built, err := r.build(ctx, src, lock)
	if err != nil {
		return nil, err
	}
	if err := r.awaitKey(); err != nil {
		return nil, err
	}
	res := &Result{}
	if res.Reproduction, err = r.reproduce(ctx, src, lock, built); err != nil {
		return res, err
	}
	if res.Bench, err = r.bench(ctx); err != nil {
		return res, err
	}
	sealed, err := r.digest(ctx, src, lock, built)
	if err != nil {
		return nil, err
	}
	if err := r.sign(ctx, sealed); err != nil {
		return nil, err
	}
	if err := r.attest(ctx, src, lock, built, sealed, res.Reproduction); err != nil {
		return nil, err
	}
	if err := r.notes(ctx, src, sealed); err != nil {
		return nil, err
	}
	if err := r.audit(ctx, src, built, sealed); err != nil {
		return nil, err
	}
	if err := r.escrow(ctx, src); err != nil {
		return nil, err
	}
	res.Manifest = sealed
	res.Report, err = r.verify(ctx)
	res.Trail = r.trail.Records()
	return res, err
}

// quietLogger is what stages get when the caller gave no logger.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
