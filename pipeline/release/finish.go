package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/repro"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
	"github.com/sentientos/reliquary/pipeline/vsa"
)

// reproduce is the runner's reproducibility stage.
func (r *run) reproduce(ctx context.Context, src *SourceInfo, lock *freeze.Lock, built *build.Output) (*build.Comparison, error) {
	if !r.s.reproduce {
		r.trail.Skip(ctx, "reproducibility", "not asked (--check-reproducible)")
		return nil, nil
	}
	var cmp *build.Comparison
	err := r.trail.Run(ctx, "reproducibility", func(ctx context.Context) (trail.Step, error) {
		var err error
		cmp, err = Reproduce(ctx, r.buildInput(src, ""), built.Tree(), func(goCache string) []build.Option {
			return r.buildOptions(src, lock, goCache)
		})
		if err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "release", "--check-reproducible"}, Outputs: trail.ArtifactFiles(built.Artifacts)}, nil
	})
	return cmp, err
}

// Reproduce rebuilds from a copy of in.Source in another directory with an empty build
// cache (opts gets its path) and compares every artifact with first. A difference fails
// (ErrGate), naming each artifact and where it first differs; the comparison is returned
// either way.
func Reproduce(ctx context.Context, in build.Input, first build.Tree, opts func(goCache string) []build.Option) (*build.Comparison, error) {
	work, err := os.MkdirTemp("", "reliquary-rebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	copyDir := filepath.Join(work, "src")
	if err := copySource(in.Source, copyDir); err != nil {
		return nil, err
	}
	in.Source, in.OutDir = copyDir, filepath.Join(work, "out")
	out, err := build.Run(ctx, in, opts(filepath.Join(work, "gocache"))...)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	cmp := build.Compare(first, out.Tree())
	if !cmp.OK() {
		return cmp, fmt.Errorf("%w: not reproducible: %s", ErrGate, describeDifferences(cmp))
	}
	return cmp, nil
}

func describeDifferences(cmp *build.Comparison) string {
	s := ""
	for i, d := range cmp.Differences {
		if i > 0 {
			s += "; "
		}
		s += d.String()
	}
	return s
}

// attest signs the provenance, records the in-toto links and layout, and signs the
// reproducibility result when there is one.
func (r *run) attest(ctx context.Context, src *SourceInfo, lock *freeze.Lock, built *build.Output, m *bundle.Manifest, cmp *build.Comparison) error {
	return r.trail.Run(ctx, "attest", func(ctx context.Context) (trail.Step, error) {
		prov, err := attest.Write(r.stage, r.provenanceInput(src, lock, built, m), r.in.Key)
		if err != nil {
			return trail.Step{}, err
		}
		written := append(prov.Files, prov.SBOMs...)
		if cmp != nil {
			if err := r.signReproduction(cmp, m); err != nil {
				return trail.Step{}, err
			}
			written = append(written, bundle.ReproSigFile)
		}
		steps, recorded, err := r.precedingLinks()
		if err != nil {
			return trail.Step{}, err
		}
		set, err := links.BundleSet(r.stage, m, LayoutExpiry(src.Time), links.Preceded(steps, recorded))
		if err != nil {
			return trail.Step{}, err
		}
		if _, err := links.Write(r.stage, set, r.in.Key); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "attest", ".", "--key", r.in.KeyName + ".key"}, Inputs: trail.FilesOf(r.stage, bundle.ManifestFile), Outputs: trail.FilesOf(r.stage, written...)}, nil
	})
}

func (r *run) provenanceInput(src *SourceInfo, lock *freeze.Lock, built *build.Output, m *bundle.Manifest) *attest.Input {
	in := &attest.Input{
		Version:      r.in.Version,
		Source:       attest.Source{Repository: src.Repository, Ref: src.Ref, Commit: src.Commit, TreeDigest: src.TreeDigest},
		Platforms:    built.Platforms,
		Toolchain:    attest.Toolchain{Name: "go", Version: built.Toolchain.Version},
		Dependencies: lock.Digest,
		Internal: map[string]string{"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOPROXY": "off", "SOURCE_DATE_EPOCH": fmt.Sprint(src.Time.Unix()),
			"GOTOOLCHAIN": lock.Toolchain.GOTOOLCHAIN()},
		Builder:      r.in.Builder,
		InvocationID: r.invocationID(src),
		StartedOn:    src.Time, FinishedOn: src.Time,
		Artifacts: m.Artifacts,
	}
	for _, im := range baseImages(r.in.Images) {
		in.BaseImages = append(in.BaseImages, attest.Image{Name: im.Name, Digest: im.Digest})
	}
	return in
}

// invocationID defaults to a value derived from what is released, so that the same release
// gives the same provenance bytes; a CI run id is better when there is one.
func (r *run) invocationID(src *SourceInfo) string {
	if r.in.InvocationID != "" {
		return r.in.InvocationID
	}
	return "reliquary:" + src.Commit[:12] + ":" + r.in.Version
}

// signStatement signs an in-toto statement into the bundle at dir as name.
func signStatement(dir, name string, stmt []byte, key *keys.PrivateKey) error {
	signed, err := sign.DSSE(stmt, attest.PayloadType, key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", name, err)
	}
	return bundle.WriteFile(dir, name, signed)
}

func (r *run) signReproduction(cmp *build.Comparison, m *bundle.Manifest) error {
	return SignReproduction(r.stage, cmp, m, r.in.Key)
}

// SignReproduction signs the result of Reproduce into the bundle at dir
// (reproducibility.sigstore.json), its subjects the manifest's artifacts.
func SignReproduction(dir string, cmp *build.Comparison, m *bundle.Manifest, key *keys.PrivateKey) error {
	res := repro.Result{Version: m.Version, Reproduced: cmp.Reproduced, Method: "rebuilt from a copy of the source in another directory with an empty GOCACHE"}
	for _, d := range cmp.Differences {
		res.Differences = append(res.Differences, d.String())
	}
	stmt, err := repro.Statement(res, m.Artifacts)
	if err != nil {
		return err
	}
	return signStatement(dir, bundle.ReproSigFile, stmt, key)
}

// verify runs the gate over the staged bundle with the release key as the only trusted key,
// and stores its signed verification summary in the bundle. The JSON report is not kept: an
// unsigned file in a bundle is one an attacker could edit, and the gate never trusts it.
func (r *run) verify(ctx context.Context) (*verify.Report, error) {
	var report *verify.Report
	err := r.trail.Run(ctx, "verify", func(ctx context.Context) (trail.Step, error) {
		var err error
		if report, err = Seal(ctx, r.stage, r.in.Key, verify.WithSBOMMemo(r.sboms)); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "seal", ".", "--key", r.in.KeyName + ".key"}, Outputs: trail.FilesOf(r.stage, bundle.VSAFile)}, nil
	})
	return report, err
}

// Seal is a release's last stage: the gate over the finished bundle at dir, trusting only
// the public half of the release key, then the signed verification summary of its verdict
// (verification.sigstore.json) added. A bundle that fails its own gate is refused (ErrGate).
func Seal(ctx context.Context, dir string, key *keys.PrivateKey, gate ...verify.Option) (*verify.Report, error) {
	report, err := verify.Run(ctx, dir, append([]verify.Option{verify.WithKeys(key.PublicKey()), verify.WithSHA512()}, gate...)...)
	if err != nil {
		return nil, err
	}
	if !report.Verified {
		return report, fmt.Errorf("%w: the release does not pass its own gate: %d problem(s), first: %s: %s", ErrGate, report.Failures(), report.Findings[0].File, report.Findings[0].Message)
	}
	stmt, err := Summary(report, "https://reliquary.dev/verifier/release", time.Now(), "")
	if err != nil {
		return nil, err
	}
	return report, signStatement(dir, bundle.VSAFile, stmt, key)
}

// Summary builds the verification summary statement for a report.
func Summary(report *verify.Report, verifierID string, at time.Time, resource string) ([]byte, error) {
	var inputs []vsa.Attestation
	for _, in := range report.Inputs {
		inputs = append(inputs, vsa.Attestation{URI: in.Path, SHA256: in.SHA256})
	}
	return vsa.Statement(vsa.Input{
		VerifierID: verifierID, Time: at, ResourceURI: resource, ManifestSHA256: report.ManifestSHA256,
		Artifacts: report.Artifacts, Passed: report.Verified && report.Authenticated, Inputs: inputs,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_1"},
	})
}

// LayoutExpiry is when the in-toto layout stops being valid. It derives from the release
// time (never the wall clock, so the layout is reproducible) and is far enough away that an
// auditor can verify an old release; rotate keys by cutting new releases, not by expiry.
func LayoutExpiry(release time.Time) time.Time { return release.AddDate(10, 0, 0) }

// precedingLinks turns the trail's freeze and build (and bench) records into in-toto steps
// and links, so the layout chains source -> freeze -> build -> digest: an artifact that
// changed after the build, or that the build did not make, fails the link check.
func (r *run) precedingLinks() ([]links.Step, []links.Link, error) {
	var recs []trail.Record
	for _, rec := range r.trail.Records() {
		if links.IsRecordedStep(rec.Stage) && rec.Status == "ok" { // a skipped bench is no step
			recs = append(recs, rec)
		}
	}
	return links.Recorded(recs)
}
