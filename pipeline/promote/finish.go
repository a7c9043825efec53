package promote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/changelog"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/escrow"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// VerifierID names the promotion's gate in its verification summary.
const VerifierID = "https://reliquary.dev/verifier/promote"

func (p *run) sign(ctx context.Context, m *bundle.Manifest) error {
	return p.trail.Run(ctx, "sign", func(context.Context) (trail.Step, error) {
		res, err := sign.Manifest(p.stage, p.in.KeyName, p.in.Key)
		if err != nil {
			return trail.Step{}, err
		}
		p.s.log.Info("signed", "manifest", bundle.ManifestFile, "key_fingerprint", res.Fingerprint)
		return trail.Step{
			Command: []string{"reliquary", "sign", ".", "--key", p.in.KeyName + ".key"},
			Inputs:  filesOf(p.stage, bundle.ManifestFile),
			Outputs: filesOf(p.stage, bundle.ManifestSigFile, bundle.KeysDir+"/"+p.in.KeyName+".pub"),
		}, nil
	})
}

// attest writes the final provenance, the candidate's for the final version and
// artifacts, and the in-toto links and layout.
func (p *run) attest(ctx context.Context, c *candidate, m *bundle.Manifest) error {
	return p.trail.Run(ctx, "attest", func(context.Context) (trail.Step, error) {
		in := FinalProvenance(c.params, m, Candidate{Version: c.promotion.RC.String(), ProvenanceSHA256: c.provSHA, ManifestSHA256: c.manifestSHA})
		prov, err := attest.Write(p.stage, in, p.in.Key)
		if err != nil {
			return trail.Step{}, err
		}
		set, err := links.BundleSet(p.stage, m, layoutExpiry(in.StartedOn))
		if err != nil {
			return trail.Step{}, err
		}
		if _, err := links.Write(p.stage, set, p.in.Key); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "attest", ".", "--key", p.in.KeyName + ".key"}, Inputs: filesOf(p.stage, bundle.ManifestFile), Outputs: filesOf(p.stage, append(prov.Files, prov.SBOMs...)...)}, nil
	})
}

// Candidate identifies the release candidate a final release was promoted from.
type Candidate struct {
	Version          string
	ProvenanceSHA256 string // hex
	ManifestSHA256   string // hex
}

// FinalProvenance is the promoted release's provenance input: the candidate's parameters
// (builder id, invocation and times unchanged: the build they describe is the one that made
// the bytes) for the final version and artifacts, plus internal parameters naming the
// candidate and the version stamped into its binaries.
func FinalProvenance(rc *attest.Input, m *bundle.Manifest, from Candidate) *attest.Input {
	in := *rc
	in.Version, in.Artifacts = m.Version, m.Artifacts
	in.Internal = map[string]string{}
	for k, v := range rc.Internal {
		in.Internal[k] = v
	}
	in.Internal[ParamPromotedFrom] = from.Version
	in.Internal[ParamCandidateProvSHA] = from.ProvenanceSHA256
	in.Internal[ParamCandidateManifest] = from.ManifestSHA256
	in.Internal[ParamStampedVersion] = from.Version
	return &in
}

// notes writes the final notes, with the promotion and stamped-version sections, and the
// changelog with the final version's entry.
func (p *run) notes(ctx context.Context, c *candidate, m *bundle.Manifest) error {
	return p.trail.Run(ctx, "notes", func(ctx context.Context) (trail.Step, error) {
		sections, err := promotionSections(c)
		if err != nil {
			return trail.Step{}, err
		}
		existing, err := p.existingChangelog()
		if err != nil {
			return trail.Step{}, err
		}
		out, err := release.WriteNotes(ctx, release.NotesInput{
			Dir: p.stage, Repo: c.repo, Version: c.promotion.Final, Commit: m.Source.Commit, Date: c.params.StartedOn,
			Project: m.Project, Signer: p.in.Key.PublicKey(), KeyFile: p.in.KeyName + ".pub", BundleName: filepath.Base(filepath.Clean(p.in.Out)),
			Changelog: existing, Sections: sections,
			NoHistory: fmt.Sprintf("Promoted from %s without the source repository, so the commits are not listed here: see the notes of %s.", c.promotion.RC, c.promotion.RC),
		})
		if err != nil {
			return trail.Step{}, err
		}
		if out.Kept {
			p.s.log.Warn("CHANGELOG.md already has an entry for this version; kept as written", "version", p.in.Version)
		}
		return trail.Step{
			Command: []string{"reliquary", "notes", "--version", p.in.Version, "--commit", m.Source.Commit, "--bundle", ".", "--changelog", bundle.ChangelogFile},
			Inputs:  filesOf(p.stage, bundle.ManifestFile),
			Outputs: filesOf(p.stage, out.Files...),
		}, nil
	})
}

func promotionSections(c *candidate) ([]notes.Section, error) {
	sec, err := notes.PromotionSection(c.promotion.RC, "sha256:"+c.provSHA)
	if err != nil {
		return nil, err
	}
	stamped := notes.Section{Title: "Version stamped in the binaries", Placement: notes.BeforeChanges, Markdown: StampedNote(c.promotion.RC.String(), c.promotion.Final.String())}
	return []notes.Section{sec, stamped}, nil
}

// StampedNote explains that a promoted release's binaries report the candidate's version.
func StampedNote(rc, final string) string {
	return fmt.Sprintf("Promotion ships the candidate's exact bytes, so the binaries report the version they were built with, %s, "+
		"and the container image's `org.opencontainers.image.version` label is %s. Nothing was rebuilt to stamp %s: "+
		"the manifest, the provenance (internal parameter `%s`) and the release notes are what name the final version.", rc, rc, final, ParamStampedVersion)
}

// existingChangelog is the source's CHANGELOG.md, else the candidate's (which carries its
// entry), else none.
func (p *run) existingChangelog() ([]byte, error) {
	if p.in.Source != "" {
		return release.ReadChangelog(p.in.Source)
	}
	b, err := bundle.Open(p.in.RC)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data, err := b.ReadFile(bundle.ChangelogFile, changelog.MaxChangelog)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// audit runs the least-privilege audit and the gate before the escrow, and writes
// audit_summary.md with the candidate's verification.
func (p *run) audit(ctx context.Context, c *candidate, m *bundle.Manifest) error {
	return p.trail.Run(ctx, "audit", func(ctx context.Context) (trail.Step, error) {
		module := ""
		if p.in.Source != "" {
			var err error
			if module, err = audit.FindDaggerModule(p.in.Source); err != nil {
				return trail.Step{}, fmt.Errorf("audit: %w", err)
			}
		}
		rep, err := audit.Run(ctx, audit.Input{Dir: p.stage, Manifest: m, CommitTime: c.params.StartedOn, ImageVersion: c.promotion.RC.String(),
			Build: []audit.BuildRecord{{Name: "the candidate's provenance", Env: envOf(c.params.Internal)}}, DaggerModule: module})
		if err != nil {
			return trail.Step{}, err
		}
		gate, err := verify.Run(ctx, p.stage, verify.WithKeys(p.in.Key.PublicKey()))
		if err != nil {
			return trail.Step{}, err
		}
		g := audit.Gate{Title: release.PreEscrowGate, Report: gate, Pending: release.Pending}
		md := audit.Summary(audit.SummaryInput{
			Project: m.Project, Version: m.Version, Source: m.Source, Time: c.params.StartedOn,
			Notes: []string{fmt.Sprintf("Promoted from %s (manifest sha256 %s, provenance sha256 %s) without a rebuild. %s",
				c.promotion.RC, c.manifestSHA, c.provSHA, StampedNote(c.promotion.RC.String(), c.promotion.Final.String()))},
			Trail: p.trail.Records(), Current: "audit", After: release.StagesAfterSummary,
			Toolchain: m.Toolchain, BaseImages: m.BaseImages, Dependencies: m.Dependencies,
			Gates: []audit.Gate{{Title: "Release candidate " + c.promotion.RC.String() + ", verified before promotion", Report: c.report}, g},
			Audit: rep,
		})
		if err := bundle.WriteFile(p.stage, bundle.AuditSummaryFile, md); err != nil {
			return trail.Step{}, err
		}
		if err := release.AuditGate(rep, g); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Inputs: filesOf(p.stage, bundle.ManifestFile), Outputs: filesOf(p.stage, bundle.AuditSummaryFile)}, nil
	})
}

// envOf turns the candidate's recorded build settings back into KEY=VALUE lines.
func envOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (p *run) escrow(ctx context.Context, c *candidate) error {
	return p.trail.Run(ctx, "escrow", func(context.Context) (trail.Step, error) {
		out, err := escrow.Write(p.stage, p.in.Key, c.params.StartedOn)
		if err != nil {
			return trail.Step{}, err
		}
		return release.EscrowStep(p.stage, out), nil
	})
}

// verify is the final gate over the finished bundle, with only the release key trusted;
// its signed summary goes into the bundle (the unsigned JSON report does not).
func (p *run) verify(ctx context.Context) (*verify.Report, error) {
	var report *verify.Report
	err := p.trail.Run(ctx, "verify", func(ctx context.Context) (trail.Step, error) {
		var err error
		if report, err = verify.Run(ctx, p.stage, verify.WithKeys(p.in.Key.PublicKey()), verify.WithSHA512()); err != nil {
			return trail.Step{}, err
		}
		if err := finalVerdict(report); err != nil {
			return trail.Step{}, err
		}
		if err := p.writeVerification(report); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"reliquary", "verify", ".", "--key", p.in.KeyName + ".pub"}, Outputs: filesOf(p.stage, bundle.VSAFile)}, nil
	})
	return report, err
}

func finalVerdict(r *verify.Report) error {
	if r.Verified && r.Authenticated {
		return nil
	}
	for _, f := range r.Findings {
		if f.Status == verify.Fail {
			return fmt.Errorf("%w: the promoted release does not pass its own gate: %d problem(s), first: %s: %s", release.ErrGate, r.Failures(), f.File, f.Message)
		}
	}
	return fmt.Errorf("%w: the promoted release's gate checked no signature", release.ErrGate)
}

func (p *run) writeVerification(report *verify.Report) error {
	// The summary's time is when the gate ran: it is a record of this verification, not
	// part of the release's reproducible bytes.
	stmt, err := release.Summary(report, VerifierID, time.Now(), "")
	if err != nil {
		return err
	}
	signed, err := sign.DSSE(stmt, attest.PayloadType, p.in.Key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", bundle.VSAFile, err)
	}
	return bundle.WriteFile(p.stage, bundle.VSAFile, signed)
}

// filesOf hashes bundle files for the trail; an unreadable one is recorded without a digest.
func filesOf(dir string, paths ...string) []trail.File {
	out := make([]trail.File, 0, len(paths))
	for _, p := range paths {
		f := trail.File{Path: p}
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			f.SHA256 = digest.Bytes(data)
		}
		out = append(out, f)
	}
	return out
}
