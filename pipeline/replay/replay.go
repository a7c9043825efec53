// Package replay is the auditor's rebuild: given a release bundle and the source at the
// attested commit, it verifies the bundle, checks that the source tree is the one attested,
// rebuilds with the parameters the provenance records (version, commit, platforms, time,
// toolchain, frozen dependencies), and reports, artifact by artifact, whether the rebuilt
// bytes equal the released ones.
package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ErrReplay is the root of errors that stop a replay before it can compare anything.
var ErrReplay = errors.New("replay")

// Input is what to replay.
type Input struct {
	Bundle string
	Source string
	Keys   []*keys.PublicKey // trusted keys; the bundle is verified with them first
	Log    *slog.Logger
	// ReuseBuildCache builds with the host's Go build cache. By default the rebuild gets an
	// empty, private GOCACHE, removed afterwards: a rebuild that may relink packages the
	// release itself compiled on this machine does not show that the source yields them.
	ReuseBuildCache bool
}

// Result is the replay's verdict. Problems stop short of a rebuild (the bundle did not
// verify, the source is another tree); otherwise Comparison says per artifact.
type Result struct {
	Report       *verify.Report
	Manifest     *bundle.Manifest
	Params       Params
	SourceTree   string // the tree digest of Input.Source
	Problems     []string
	Comparison   *build.Comparison
	Reproduced   bool
	RebuildError string
	// ReusedBuildCache says the rebuild used the host's Go build cache (Input.ReuseBuildCache).
	ReusedBuildCache bool
	// Seconds is how long the replay took, verification included.
	Seconds float64
}

// Params are the build parameters read from the signed provenance.
type Params struct {
	Version   string
	Commit    string
	Platforms []string
	Time      time.Time
	Toolchain string
	// Images are the base images the release's lock pinned (as given to freeze): the
	// replay's freeze pins the same, so that its dependency set can equal the release's.
	Images []string
	// Lock is the release's deps.lock.json, nil when the bundle has none. Its toolchain is
	// the one the replay builds with: the pinned one (fetched like the release fetched it),
	// or the local one when the release chose it (--toolchain local).
	Lock *freeze.Lock
}

// Run replays the release in in.Bundle from the source in in.Source.
func Run(ctx context.Context, in Input) (*Result, error) {
	if len(in.Keys) == 0 {
		return nil, fmt.Errorf("%w: no trusted key: a replay starts by verifying the bundle", ErrReplay)
	}
	if in.Log == nil {
		in.Log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	tr := trail.New(in.Log) // "stage start"/"stage end" lines: the log and the live display
	var report *verify.Report
	err := tr.Run(ctx, "verify", func(ctx context.Context) (trail.Step, error) {
		var err error
		if report, err = verify.Run(ctx, in.Bundle, verify.WithKeys(in.Keys...)); err == nil && !report.Verified {
			err = fmt.Errorf("%d problem(s)", report.Failures())
		}
		return trail.Step{}, err
	})
	if report == nil {
		return nil, err
	}
	res := &Result{Report: report, ReusedBuildCache: in.ReuseBuildCache}
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	if !report.Verified || !report.Authenticated {
		res.Problems = append(res.Problems, fmt.Sprintf("the bundle does not verify (%d problem(s)): nothing to replay", report.Failures()))
		return res, nil
	}
	if err := res.readRelease(in); err != nil {
		return nil, err
	}
	// A source or toolchain mismatch is reported, and the rebuild still runs: the auditor
	// then sees which artifacts the difference reaches.
	res.checkSource(in)
	res.rebuild(ctx, in, tr)
	return res, nil
}

// readRelease takes the manifest and the build parameters from the verified bundle.
func (res *Result) readRelease(in Input) error {
	b, err := bundle.Open(in.Bundle)
	if err != nil {
		return err
	}
	defer b.Close()
	if res.Manifest, err = b.Manifest(); err != nil {
		return err
	}
	// The gate verified this file's signature and that it matches the manifest.
	data, err := b.ReadFile(bundle.ProvenanceFile, verify.MaxSigBundleSize)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrReplay, err)
	}
	if res.Params, err = paramsFrom(data, in.Keys); err != nil {
		return err
	}
	res.Params.Toolchain = res.Manifest.Toolchain
	if res.Params.Lock, err = releaseLock(b); err != nil || res.Params.Lock == nil {
		return err
	}
	for _, im := range res.Params.Lock.Images {
		res.Params.Images = append(res.Params.Images, im.Ref)
	}
	return nil
}

// releaseLock is the bundle's deps.lock.json, if it has one (the gate checked its digest
// against the signed manifest).
func releaseLock(b *bundle.Bundle) (*freeze.Lock, error) {
	if !b.Exists(bundle.DepsLockFile) {
		return nil, nil
	}
	data, err := b.ReadFile(bundle.DepsLockFile, freeze.MaxLockSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplay, err)
	}
	lock, err := freeze.ParseLock(bundle.DepsLockFile, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplay, err)
	}
	return lock, nil
}

// pinnedToolchain reports whether the release ran a toolchain go.mod pins, which the
// replay fetches whatever the local go command is.
func (p Params) pinnedToolchain() bool { return p.Lock != nil && p.Lock.Toolchain.Pinned != nil }

// toolchainMode is the freeze's toolchain choice that repeats the release's.
func (p Params) toolchainMode() string {
	if p.Lock != nil && p.Lock.Toolchain.Mode == freeze.ToolchainLocal {
		return freeze.ToolchainLocal
	}
	return freeze.ToolchainGoMod
}

func (res *Result) checkSource(in Input) {
	tree, err := source.TreeDigest(in.Source, source.DefaultExcludes)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return
	}
	res.SourceTree = tree
	if want := res.Manifest.Source.TreeDigest; want != "" && want != tree {
		res.Problems = append(res.Problems, fmt.Sprintf("%s is not the attested source: tree %s, the release was built from %s (check out commit %s)", in.Source, tree, want, res.Params.Commit))
	}
	if have := localGo(); !res.Params.pinnedToolchain() && res.Params.Toolchain != "" && have != "" && have != res.Params.Toolchain {
		res.Problems = append(res.Problems, fmt.Sprintf("the release was built with %s, this machine has %s: install %s to replay it", res.Params.Toolchain, have, res.Params.Toolchain))
	}
}

// rebuild freezes and builds into a temporary directory and compares with the bundle.
func (res *Result) rebuild(ctx context.Context, in Input, tr *trail.Trail) {
	work, err := os.MkdirTemp("", "reliquary-replay-")
	if err != nil {
		res.RebuildError = err.Error()
		return
	}
	defer os.RemoveAll(work)
	var lock *freeze.Lock
	err = tr.Run(ctx, "freeze", func(ctx context.Context) (trail.Step, error) {
		var err error
		lock, err = freeze.Run(ctx, freeze.Input{Dir: in.Source, Images: res.Params.Images},
			freeze.WithLogger(in.Log), freeze.WithToolchain(res.Params.toolchainMode()))
		return trail.Step{}, err
	})
	if err != nil {
		res.RebuildError = err.Error()
		return
	}
	// On another host, a pinned toolchain is that host's build of the same release.
	sameSet := res.Params.Lock != nil && res.Params.Lock.Digest == res.Manifest.Dependencies && freeze.SameSet(res.Params.Lock, lock)
	if lock.Digest != res.Manifest.Dependencies && !sameSet {
		res.Problems = append(res.Problems, fmt.Sprintf("the dependency set is %s, the release froze %s", lock.Digest, res.Manifest.Dependencies))
	}
	opts := []build.Option{build.WithLock(lock), build.WithTime(res.Params.Time), build.WithRepository(res.Manifest.Source.Repository), build.WithLogger(in.Log)}
	if !in.ReuseBuildCache {
		// Inside work, so removed with it.
		opts = append(opts, build.WithGoCache(filepath.Join(work, "gocache")))
	}
	var out *build.Output
	err = tr.Run(ctx, "build", func(ctx context.Context) (trail.Step, error) {
		var err error
		out, err = build.Run(ctx, build.Input{Source: in.Source, Version: res.Params.Version, Commit: res.Params.Commit, Platforms: res.Params.Platforms, OutDir: work}, opts...)
		return trail.Step{}, err
	})
	if err != nil {
		res.RebuildError = err.Error()
		return
	}
	tr.Run(ctx, "compare", func(context.Context) (trail.Step, error) {
		released := build.Tree{Dir: in.Bundle, Artifacts: res.Manifest.Artifacts.Filter(func(a artifact.Artifact) bool { return a.Kind != artifact.KindMetadata })}
		res.Comparison = build.Compare(released, out.Tree())
		res.Reproduced = res.Comparison.OK() && len(res.Problems) == 0
		if !res.Reproduced {
			return trail.Step{}, fmt.Errorf("%d difference(s), %d problem(s)", len(res.Comparison.Differences), len(res.Problems))
		}
		return trail.Step{}, nil
	})
}

// Stages are the stages a replay logs, in order, for a live display.
var Stages = []string{"verify", "freeze", "build", "compare"}

// paramsFrom reads the build parameters from a provenance bundle the gate already verified.
func paramsFrom(bundleJSON []byte, pubs []*keys.PublicKey) (Params, error) {
	tk, err := verifierFor(pubs)
	if err != nil {
		return Params{}, err
	}
	stmtJSON, _, err := tk.VerifyDSSE(bundleJSON, attest.PayloadType)
	if err != nil {
		return Params{}, fmt.Errorf("%w: %s: %v", ErrReplay, bundle.ProvenanceFile, err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(stmtJSON, &st); err != nil {
		return Params{}, fmt.Errorf("%w: %s: %v", ErrReplay, bundle.ProvenanceFile, err)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return Params{}, err
	}
	var prov provenance.Provenance
	if err := protojson.Unmarshal(raw, &prov); err != nil {
		return Params{}, fmt.Errorf("%w: %s: predicate: %v", ErrReplay, bundle.ProvenanceFile, err)
	}
	ext := prov.GetBuildDefinition().GetExternalParameters().GetFields()
	p := Params{
		Version: ext["version"].GetStringValue(),
		Commit:  ext["source"].GetStructValue().GetFields()["commit"].GetStringValue(),
		Time:    prov.GetRunDetails().GetMetadata().GetStartedOn().AsTime(),
	}
	for _, v := range ext["platforms"].GetListValue().GetValues() {
		p.Platforms = append(p.Platforms, v.GetStringValue())
	}
	if p.Version == "" || p.Commit == "" || len(p.Platforms) == 0 {
		return Params{}, fmt.Errorf("%w: %s: the provenance lacks version, commit or platforms", ErrReplay, bundle.ProvenanceFile)
	}
	return p, nil
}

// Summary renders the per-artifact result for people.
func (res *Result) Summary() string {
	s := ""
	for _, p := range res.Problems {
		s += "PROBLEM " + p + "\n"
	}
	if res.RebuildError != "" {
		s += "PROBLEM rebuild failed: " + res.RebuildError + "\n"
	}
	if res.Comparison != nil {
		for _, p := range res.Comparison.Reproduced {
			s += "REPRODUCED " + p + "\n"
		}
		for _, d := range res.Comparison.Differences {
			s += "DIFFERS " + d.String() + "\n"
		}
	}
	if res.ReusedBuildCache {
		s += "NOTE the rebuild reused this machine's Go build cache (--reuse-build-cache): packages compiled earlier on this machine, the release's own included, may have been reused rather than compiled from this source\n"
	}
	verdict := "NOT REPRODUCED"
	if res.Reproduced {
		verdict = "REPRODUCED"
	}
	cache := "an empty private build cache"
	if res.ReusedBuildCache {
		cache = "the host's build cache"
	}
	return s + fmt.Sprintf("%s: %d artifacts reproduced, %d differ (%.1fs, %s)\n", verdict, countOr(res.Comparison, true), countOr(res.Comparison, false), res.Seconds, cache)
}

func countOr(c *build.Comparison, reproduced bool) int {
	if c == nil {
		return 0
	}
	if reproduced {
		return len(c.Reproduced)
	}
	return len(c.Differences)
}
