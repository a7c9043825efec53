package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/sbom"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/trust"
	"github.com/sentientos/reliquary/pipeline/verify"
	"github.com/sentientos/reliquary/pipeline/version"
)

// run is one promotion in progress; each method is one stage.
type run struct {
	in    Input
	s     *settings
	stage string
	trail *trail.Trail
}

// candidate is what the first stage learns about the release candidate.
type candidate struct {
	manifest    *bundle.Manifest
	manifestSHA string // hex
	provSHA     string // hex sha256 of provenance.sigstore.json
	params      *attest.Input
	report      *verify.Report
	promotion   version.Promotion
	repo        *gitlog.Repo // nil without a source
}

func (p *run) all(ctx context.Context) (*Result, error) {
	c, err := p.verifyCandidate(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{RC: c.manifest, RCReport: c.report}
	if res.Renamed, err = p.copyArtifacts(ctx, c); err != nil {
		return res, err
	}
	if res.Manifest, err = p.digest(ctx, c, res.Renamed); err != nil {
		return res, err
	}
	if err := p.sign(ctx, res.Manifest); err != nil {
		return res, err
	}
	if err := p.attest(ctx, c, res.Manifest); err != nil {
		return res, err
	}
	if err := p.notes(ctx, c, res.Manifest); err != nil {
		return res, err
	}
	if err := p.audit(ctx, c, res.Manifest); err != nil {
		return res, err
	}
	if err := p.escrow(ctx, c); err != nil {
		return res, err
	}
	res.Report, err = p.verify(ctx)
	res.Trail = p.trail.Records()
	return res, err
}

// verifyCandidate runs the gate over the candidate, checks the promotion against the tags,
// and reads the candidate's verified provenance.
func (p *run) verifyCandidate(ctx context.Context) (*candidate, error) {
	c := &candidate{}
	err := p.trail.Run(ctx, "verify-candidate", func(ctx context.Context) (trail.Step, error) {
		rep, err := verify.Run(ctx, p.in.RC, verify.WithKeys(p.s.trusted...))
		if err != nil {
			return trail.Step{}, fmt.Errorf("%w: release candidate %s: %v", ErrPromote, p.in.RC, err)
		}
		if err := candidateVerdict(p.in.RC, rep); err != nil {
			return trail.Step{}, err
		}
		c.report = rep
		if err := p.readCandidate(c); err != nil {
			return trail.Step{}, err
		}
		if err := p.checkPromotion(ctx, c); err != nil {
			return trail.Step{}, err
		}
		p.s.log.Info("release candidate verified", "version", c.manifest.Version, "manifest_sha256", c.manifestSHA, "provenance_sha256", c.provSHA)
		return trail.Step{
			Command: []string{"reliquary", "verify", p.in.RC, "--key", p.in.KeyName + ".pub"},
			Inputs:  []trail.File{{Path: bundle.ManifestFile, SHA256: c.manifestSHA}, {Path: bundle.ProvenanceFile, SHA256: c.provSHA}},
		}, nil
	})
	return c, err
}

// candidateVerdict refuses a candidate the gate did not verify and authenticate.
func candidateVerdict(dir string, rep *verify.Report) error {
	if rep.Verified && rep.Authenticated {
		return nil
	}
	first := "its signatures were not checked"
	for _, f := range rep.Findings {
		if f.Status == verify.Fail {
			first = f.File + ": " + f.Message
			break
		}
	}
	return fmt.Errorf("%w: the release candidate %s does not verify, so it cannot be promoted: %d problem(s), first: %s (run reliquary verify on it for the full report)",
		release.ErrGate, dir, rep.Failures(), first)
}

// readCandidate loads the candidate's manifest and its provenance, whose signature the gate
// has just checked; the provenance is verified again here, against the same keys, so that
// nothing unverified is read.
func (p *run) readCandidate(c *candidate) error {
	b, err := bundle.Open(p.in.RC)
	if err != nil {
		return err
	}
	defer b.Close()
	data, err := b.ReadFile(bundle.ManifestFile, bundle.MaxManifestSize)
	if err != nil {
		return err
	}
	if c.manifest, err = bundle.ParseManifest(data); err != nil {
		return err
	}
	c.manifestSHA = digest.Bytes(data)
	prov, err := b.ReadFile(bundle.ProvenanceFile, verify.MaxSigBundleSize)
	if err != nil {
		return fmt.Errorf("%w: the release candidate has no provenance to promote: %v", ErrPromote, err)
	}
	c.provSHA = digest.Bytes(prov)
	tk, err := trust.NewKeys(p.s.trusted...)
	if err != nil {
		return err
	}
	stmt, _, err := tk.VerifyDSSE(prov, attest.PayloadType)
	if err != nil {
		return fmt.Errorf("%w: release candidate %s: %w", release.ErrGate, bundle.ProvenanceFile, err)
	}
	if c.params, err = ParseCandidate(stmt); err != nil {
		return fmt.Errorf("%w: release candidate %s: %w", ErrPromote, bundle.ProvenanceFile, err)
	}
	return nil
}

// checkPromotion requires the final version to be the candidate's without its pre-release:
// against the repository's tags when there is a source (the candidate's tag must point at the
// commit its bundle was built from), else against the candidate alone.
func (p *run) checkPromotion(ctx context.Context, c *candidate) error {
	commit := c.manifest.Source.Commit
	tags := []version.Tag{{Name: c.manifest.Version, Commit: commit}}
	if p.in.Source != "" {
		repo, err := gitlog.Open(ctx, p.in.Source)
		if err != nil {
			return fmt.Errorf("%w: --source: %w", ErrPromote, err)
		}
		gt, err := repo.Tags(ctx)
		if err != nil {
			return err
		}
		tags = tags[:0]
		for _, t := range gt {
			tags = append(tags, version.Tag{Name: t.Name, Commit: t.Commit})
		}
		c.repo = repo
	}
	pr, err := version.CheckPromotion(c.manifest.Version, p.in.Version, tags)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPromote, err)
	}
	if pr.RCCommit != commit {
		return fmt.Errorf("%w: tag %s points at %s, but the candidate's bundle was built from %s", ErrPromote, pr.RC, short(pr.RCCommit), short(commit))
	}
	c.promotion = pr
	return nil
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// copyArtifacts copies every artifact under its final name, checking each byte stream
// against the candidate's manifest: a candidate file that changed since the gate ran is
// refused, never promoted.
func (p *run) copyArtifacts(ctx context.Context, c *candidate) (map[string]string, error) {
	renamed := map[string]string{}
	err := p.trail.Run(ctx, "promote", func(ctx context.Context) (trail.Step, error) {
		b, err := bundle.Open(p.in.RC)
		if err != nil {
			return trail.Step{}, err
		}
		defer b.Close()
		var step trail.Step
		for _, a := range c.manifest.Artifacts {
			if err := ctx.Err(); err != nil {
				return trail.Step{}, err
			}
			final := FinalPath(a.Path, c.promotion.RC, c.promotion.Final)
			if err := p.claim(renamed, a.Path, final); err != nil {
				return trail.Step{}, err
			}
			sum := a.Digest.SHA256
			if isSBOM(a.Path) {
				sum, err = copySBOM(b, a, p.stage, final, func(s string) string { return FinalPath(s, c.promotion.RC, c.promotion.Final) })
			} else {
				err = copyChecked(b, a, p.stage, final)
			}
			if err != nil {
				return trail.Step{}, err
			}
			step.Inputs = append(step.Inputs, trail.File{Path: a.Path, SHA256: a.Digest.SHA256})
			step.Outputs = append(step.Outputs, trail.File{Path: final, SHA256: sum})
		}
		step.Command = []string{"reliquary", "promote", p.in.RC, "--version", p.in.Version}
		return step, nil
	})
	return renamed, err
}

func (p *run) claim(renamed map[string]string, from, to string) error {
	for prev, t := range renamed {
		if t == to {
			return fmt.Errorf("%w: %s and %s would both be named %s", ErrPromote, prev, from, to)
		}
	}
	if bundle.IsReserved(to) {
		return fmt.Errorf("%w: %s would be renamed %s, a bundle record", ErrPromote, from, to)
	}
	renamed[from] = to
	return nil
}

func isSBOM(p string) bool {
	return path.Dir(p) == bundle.SBOMDir && strings.HasSuffix(p, ".cdx.json")
}

// copySBOM copies the candidate's SBOM a to dst/final with its subjects renamed as the
// artifacts are, after checking it against the candidate's manifest; it returns the new
// file's sha256.
func copySBOM(b *bundle.Bundle, a artifact.Artifact, dst, final string, rename func(string) string) (string, error) {
	data, err := b.ReadFile(a.Path, sbom.MaxSize)
	if err != nil {
		return "", fmt.Errorf("release candidate %s: %w", a.Path, err)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != a.Digest.SHA256 {
		return "", fmt.Errorf("%w: release candidate %s changed after it was verified", release.ErrGate, a.Path)
	}
	out, err := sbom.Rename(a.Path, data, rename)
	if err != nil {
		return "", err
	}
	if err := bundle.WriteFile(dst, final, out); err != nil {
		return "", fmt.Errorf("copy %s: %w", a.Path, err)
	}
	sum := sha256.Sum256(out)
	return hex.EncodeToString(sum[:]), nil
}

// copyChecked copies the candidate's artifact a to dst/final and fails unless the bytes
// copied have a's size and sha256.
func copyChecked(b *bundle.Bundle, a artifact.Artifact, dst, final string) error {
	f, _, err := b.Open(a.Path)
	if err != nil {
		return fmt.Errorf("release candidate %s: %w", a.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	var n int64
	err = bundle.Write(dst, final, func(w io.Writer) error {
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), f)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", a.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.Digest.SHA256 || n != a.Size {
		os.Remove(filepath.Join(dst, filepath.FromSlash(final)))
		return fmt.Errorf("%w: release candidate %s changed after it was verified (sha256 %s, manifest %s)", release.ErrGate, a.Path, got, a.Digest.SHA256)
	}
	return nil
}

// digest writes the final manifest: the candidate's source, toolchain, images and
// dependencies, the renamed artifacts, and the attestations promotion writes. Every
// artifact's digest must equal its candidate's.
func (p *run) digest(ctx context.Context, c *candidate, renamed map[string]string) (*bundle.Manifest, error) {
	var m *bundle.Manifest
	err := p.trail.Run(ctx, "digest", func(ctx context.Context) (trail.Step, error) {
		known := make(artifact.List, 0, len(c.manifest.Artifacts))
		algs := digest.SHA256Only
		for _, a := range c.manifest.Artifacts {
			a.Path = renamed[a.Path]
			known = append(known, a)
			if a.Digest.SHA512 != "" {
				algs = digest.WithSHA512
			}
		}
		rc := c.manifest
		out, err := digest.Run(ctx, digest.Input{
			Dir: p.stage, Project: rc.Project, Version: c.promotion.Final.String(), Source: rc.Source,
			Toolchain: rc.Toolchain, BaseImages: rc.BaseImages, Dependencies: rc.Dependencies,
			Attestations: []string{bundle.AttestProvenance, bundle.AttestLinks, bundle.AttestEscrow},
			Known:        known, Algorithms: algs,
		})
		if err != nil {
			return trail.Step{}, err
		}
		if err := SameDigests(c.manifest.Artifacts, out.Manifest.Artifacts, renamed); err != nil {
			return trail.Step{}, err
		}
		m = out.Manifest
		return trail.Step{
			Command: []string{"reliquary", "digest", ".", "--version", p.in.Version},
			Outputs: []trail.File{{Path: bundle.ManifestFile, SHA256: out.ManifestSHA256}},
		}, nil
	})
	return m, err
}

// SameDigests requires the final release to list exactly the candidate's artifacts, renamed,
// with the same size and digests: the promotion's central promise. SBOMs are the exception:
// they name the artifacts that ship each binary, so promotion rewrites those names (and
// nothing else, see sbom.Rename); the gate checks them against the binaries again.
func SameDigests(rc, final artifact.List, renamed map[string]string) error {
	byPath := final.ByPath()
	if len(final) != len(rc) {
		return fmt.Errorf("%w: the final release lists %d artifacts, the candidate %d", release.ErrGate, len(final), len(rc))
	}
	for _, a := range rc {
		f, ok := byPath[renamed[a.Path]]
		switch {
		case !ok:
			return fmt.Errorf("%w: %s is missing from the final release", release.ErrGate, renamed[a.Path])
		case isSBOM(a.Path):
		case f.Size != a.Size || f.Digest.SHA256 != a.Digest.SHA256 || (a.Digest.SHA512 != "" && f.Digest.SHA512 != a.Digest.SHA512):
			return fmt.Errorf("%w: %s (sha256 %s) is not the candidate's %s (sha256 %s)", release.ErrGate, f.Path, f.Digest.SHA256, a.Path, a.Digest.SHA256)
		}
	}
	return nil
}

// layoutExpiry mirrors the release runner's: ten years after the release time.
func layoutExpiry(t time.Time) time.Time { return t.AddDate(10, 0, 0) }
