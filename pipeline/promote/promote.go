// Package promote re-issues a verified release candidate under its final version without a
// rebuild: the same artifact bytes under final names, a new manifest, signature, provenance,
// in-toto links, notes, changelog, audit summary and escrow, checked by the gate.
//
// Contract:
//   - The candidate's bundle must pass the gate (pipeline/verify) with the trusted keys,
//     signatures included, before anything is written; a candidate that does not verify is
//     refused with release.ErrGate and the gate's first problem.
//   - The final version must be the candidate's without its pre-release (version.
//     CheckPromotion): against the repository's tags when a source is given (the candidate
//     must be tagged, at the commit its bundle was built from, and be the latest candidate
//     of its version), else against the candidate alone.
//   - Every artifact is copied byte for byte, its sha256 checked against the candidate's
//     manifest while copying, and renamed with FinalPath; the final manifest's digests are
//     asserted equal to the candidate's. Nothing is compiled.
//   - The version stamped into the binaries is the candidate's: promotion ships the
//     candidate's exact bytes, so a promoted binary reports the candidate's version (and the
//     image's version label is the candidate's). The provenance (internal parameter
//     stampedVersion), the notes and the audit summary say so.
//   - The provenance is the candidate's (build type, source, platforms, toolchain, images,
//     dependencies, builder id, invocation and times) for the final version and artifacts,
//     with internal parameters naming the candidate, its provenance's and its manifest's
//     sha256.
//   - Like a release, the bundle is assembled in a staging directory and moved into place
//     only after the gate accepts it, so an interrupted promotion never leaves a bundle the
//     gate would accept.
package promote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ErrPromote is the root of the refusals that are the caller's input: a bad version, a
// promotion the tags do not allow, an output in the way. A candidate that fails the gate is
// release.ErrGate instead.
var ErrPromote = errors.New("promote")

// Input is what to promote.
type Input struct {
	RC      string           // the release candidate's bundle directory
	Out     string           // the final bundle: must not exist, or be an empty directory
	Version string           // the final version, e.g. v1.0.0
	Key     *keys.PrivateKey // signs the final release
	KeyName string           // file stem for keys/NAME.pub (default "release")
	// Source is the project's git repository (optional): its tags check the promotion, its
	// history gives the notes and its CHANGELOG.md the changelog.
	Source string
}

// Result is what a promotion produced.
type Result struct {
	Dir      string
	RC       *bundle.Manifest  // the candidate's manifest
	Manifest *bundle.Manifest  // the final release's manifest
	Renamed  map[string]string // candidate path -> final path, for every artifact
	RCReport *verify.Report    // the gate's report on the candidate
	Report   *verify.Report    // the gate's report on the final release
	Trail    []trail.Record
}

// Option configures a promotion.
type Option func(*settings) error

type settings struct {
	log     *slog.Logger
	trusted []*keys.PublicKey
}

// WithLogger sends every stage's structured log to l.
func WithLogger(l *slog.Logger) Option { return func(s *settings) error { s.log = l; return nil } }

// TrustCandidateKeys sets the keys the candidate must be signed with (default: the public
// half of the key that signs the final release; give others when the key was rotated).
func TrustCandidateKeys(pubs ...*keys.PublicKey) Option {
	return func(s *settings) error {
		if len(pubs) == 0 {
			return fmt.Errorf("no candidate keys given")
		}
		s.trusted = append(s.trusted, pubs...)
		return nil
	}
}

// Run promotes in.RC to in.Version into in.Out.
func Run(ctx context.Context, in Input, opts ...Option) (*Result, error) {
	s := &settings{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPromote, err)
		}
	}
	if err := checkInput(&in); err != nil {
		return nil, err
	}
	if len(s.trusted) == 0 {
		s.trusted = []*keys.PublicKey{in.Key.PublicKey()}
	}
	out, err := newOutput(in.Out)
	if err != nil {
		return nil, err
	}
	p := &run{in: in, s: s, stage: out.stage, trail: trail.New(s.log)}
	res, err := p.all(ctx)
	if err != nil {
		out.abandon()
		return res, err
	}
	if err := out.place(); err != nil {
		return nil, err
	}
	res.Dir = in.Out
	return res, nil
}

func checkInput(in *Input) error {
	switch {
	case in.RC == "":
		return fmt.Errorf("%w: no release candidate bundle", ErrPromote)
	case in.Out == "":
		return fmt.Errorf("%w: no output directory", ErrPromote)
	case in.Version == "":
		return fmt.Errorf("%w: no final version", ErrPromote)
	case in.Key == nil:
		return fmt.Errorf("%w: no signing key", ErrPromote)
	}
	if in.KeyName == "" {
		in.KeyName = "release"
	}
	fi, err := os.Stat(in.RC)
	if err != nil {
		return fmt.Errorf("%w: release candidate bundle: %v", ErrPromote, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: release candidate bundle %s is not a directory", ErrPromote, in.RC)
	}
	if within(in.RC, in.Out) {
		return fmt.Errorf("%w: %s is inside the release candidate's bundle, which must stay as it is", ErrPromote, in.Out)
	}
	return nil
}

// within reports whether p is dir or lies under it.
func within(dir, p string) bool {
	a, err1 := filepath.Abs(dir)
	b, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(a, b)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// output is where the final bundle is assembled and how it is put in place: renamed over a
// path that does not exist yet, or, for an existing empty directory (a container mount),
// moved in entry by entry with manifest.json last, so that a bundle interrupted while moving
// lacks its manifest and fails the gate.
type output struct {
	out, stage string
	into       bool
}

func newOutput(out string) (*output, error) {
	o := &output{out: filepath.Clean(out)}
	parent := filepath.Dir(o.out)
	switch entries, err := os.ReadDir(o.out); {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("%w: %s already exists and is not empty; a promotion never overwrites a release (remove it or choose another --out)", ErrPromote, out)
	case err == nil:
		o.into, parent = true, o.out
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPromote, err)
		}
	default:
		return nil, fmt.Errorf("%w: %s: %v", ErrPromote, out, err)
	}
	dir, err := os.MkdirTemp(parent, "."+filepath.Base(o.out)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPromote, err)
	}
	o.stage = dir
	return o, nil
}

func (o *output) abandon() { os.RemoveAll(o.stage) }

func (o *output) place() error {
	if !o.into {
		if err := os.Rename(o.stage, o.out); err != nil {
			o.abandon()
			return fmt.Errorf("%w: move the finished bundle into place: %v", ErrPromote, err)
		}
		return nil
	}
	entries, err := os.ReadDir(o.stage)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPromote, err)
	}
	for _, e := range entries {
		if e.Name() != bundle.ManifestFile {
			if err := os.Rename(filepath.Join(o.stage, e.Name()), filepath.Join(o.out, e.Name())); err != nil {
				return fmt.Errorf("%w: move %s into place: %v", ErrPromote, e.Name(), err)
			}
		}
	}
	if err := os.Rename(filepath.Join(o.stage, bundle.ManifestFile), filepath.Join(o.out, bundle.ManifestFile)); err != nil {
		return fmt.Errorf("%w: move %s into place: %v", ErrPromote, bundle.ManifestFile, err)
	}
	return os.Remove(o.stage)
}
