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
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/repro"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
	"github.com/sentientos/reliquary/pipeline/vsa"
)

// reproduce rebuilds from a copy of the source in another directory with an empty build
// cache and compares every artifact with the first build. A difference fails the release.
func (r *run) reproduce(ctx context.Context, src *sourceInfo, lock *freeze.Lock, built *build.Output) (*build.Comparison, error) {
	if !r.s.reproduce {
		r.trail.Skip(ctx, "reproducibility", "not asked (--check-reproducible)")
		return nil, nil
	}
	var cmp *build.Comparison
	err := r.trail.Run(ctx, "reproducibility", func(ctx context.Context) (trail.Step, error) {
		work, err := os.MkdirTemp("", "reliquary-rebuild-")
		if err != nil {
			return trail.Step{}, err
		}
		defer os.RemoveAll(work)
		copyDir := filepath.Join(work, "src")
		if err := copySource(r.in.Source, copyDir); err != nil {
			return trail.Step{}, err
		}
		second := *r
		second.in.Source = copyDir
		out, err := build.Run(ctx, second.buildInput(src, filepath.Join(work, "out")), second.buildOptions(src, lock, filepath.Join(work, "gocache"))...)
		if err != nil {
			return trail.Step{}, fmt.Errorf("rebuild: %w", err)
		}
		cmp = build.Compare(built.Tree(), out.Tree())
		if !cmp.OK() {
			return trail.Step{}, fmt.Errorf("%w: not reproducible: %s", ErrGate, describeDifferences(cmp))
		}
		return trail.Step{Command: []string{"reliquary", "release", "--check-reproducible"}, Outputs: trail.ArtifactFiles(out.Artifacts)}, nil
	})
	return cmp, err
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
func (r *run) attest(ctx context.Context, src *sourceInfo, lock *freeze.Lock, built *build.Output, m *bundle.Manifest, cmp *build.Comparison) error {
	return r.trail.Run(ctx, "attest", func(ctx context.Context) (trail.Step, error) {
		prov, err := attest.Write(r.stage, r.provenanceInput(src, lock, built, m), r.in.Key)
		if err != nil {
			return trail.Step{}, err
		}
		written := prov.Files
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
		set, err := links.BundleSet(r.stage, m, layoutExpiry(src.Time), links.Preceded(steps, recorded))
		if err != nil {
			return trail.Step{}, err
		}
		if _, err := links.Write(r.stage, set, r.in.Key); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "attest", ".", "--key", r.in.KeyName + ".key"}, Inputs: trail.FilesOf(r.stage, bundle.ManifestFile), Outputs: trail.FilesOf(r.stage, written...)}, nil
	})
}

func (r *run) provenanceInput(src *sourceInfo, lock *freeze.Lock, built *build.Output, m *bundle.Manifest) *attest.Input {
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
func (r *run) invocationID(src *sourceInfo) string {
	if r.in.InvocationID != "" {
		return r.in.InvocationID
	}
	return "reliquary:" + src.Commit[:12] + ":" + r.in.Version
}

func (r *run) signStatement(name string, stmt []byte) error {
	signed, err := sign.DSSE(stmt, attest.PayloadType, r.in.Key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", name, err)
	}
	return bundle.WriteFile(r.stage, name, signed)
}

func (r *run) signReproduction(cmp *build.Comparison, m *bundle.Manifest) error {
	res := repro.Result{Version: r.in.Version, Reproduced: cmp.Reproduced, Method: "rebuilt from a copy of the source in another directory with an empty GOCACHE"}
	for _, d := range cmp.Differences {
		res.Differences = append(res.Differences, d.String())
	}
	stmt, err := repro.Statement(res, m.Artifacts)
	if err != nil {
		return err
	}
	return r.signStatement(bundle.ReproSigFile, stmt)
}

// verify runs the gate over the staged bundle with the release key as the only trusted key,
// and stores its report and signed verification summary in the bundle.
func (r *run) verify(ctx context.Context) (*verify.Report, error) {
	var report *verify.Report
	err := r.trail.Run(ctx, "verify", func(ctx context.Context) (trail.Step, error) {
		var err error
		if report, err = verify.Run(ctx, r.stage, verify.WithKeys(r.in.Key.PublicKey()), verify.WithSHA512()); err != nil {
			return trail.Step{}, err
		}
		if !report.Verified {
			return trail.Step{}, fmt.Errorf("%w: the release does not pass its own gate: %d problem(s), first: %s: %s", ErrGate, report.Failures(), report.Findings[0].File, report.Findings[0].Message)
		}
		if err := r.writeVerification(report); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "verify", ".", "--key", r.in.KeyName + ".pub"}, Outputs: trail.FilesOf(r.stage, bundle.VerificationFile, bundle.VSAFile)}, nil
	})
	return report, err
}

func (r *run) writeVerification(report *verify.Report) error {
	data, err := report.JSON()
	if err != nil {
		return err
	}
	if err := bundle.WriteFile(r.stage, bundle.VerificationFile, data); err != nil {
		return err
	}
	stmt, err := Summary(report, "https://reliquary.dev/verifier/release", time.Now(), "")
	if err != nil {
		return err
	}
	return r.signStatement(bundle.VSAFile, stmt)
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

// layoutExpiry is when the in-toto layout stops being valid. It derives from the release
// time (never the wall clock, so the layout is reproducible) and is far enough away that an
// auditor can verify an old release; rotate keys by cutting new releases, not by expiry.
func layoutExpiry(release time.Time) time.Time { return release.AddDate(10, 0, 0) }

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
