package release

import (
	"context"
	"fmt"
	"time"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// StagesAfterSummary are the stages that run after audit_summary.md is written: the summary
// lists them as pending, and says where their results are.
var StagesAfterSummary = []string{"escrow", "verify"}

// PreEscrowGate is the title of the gate run the audit summary reports: the staged bundle,
// with signatures checked against the release key, before the escrow and the final gate.
const PreEscrowGate = "Gate over the staged bundle, before the escrow (release key trusted)"

// AuditInput is what the audit stage reads.
type AuditInput struct {
	Dir      string           // the staged bundle, signed and attested
	Manifest *bundle.Manifest // its manifest
	Source   string           // the project's source: a Dagger module in it is checked statically
	Time     time.Time        // the release time
	Build    *build.Output    // the build's record; nil when unknown (a low finding)
	Trail    []trail.Record   // the stages run so far, in order
	Key      *keys.PublicKey  // the release key: the gate before the escrow trusts it alone
	Gate     []verify.Option  // more options for that gate (the runner's SBOM memo)
}

// audit is the runner's audit stage.
func (r *run) audit(ctx context.Context, src *SourceInfo, built *build.Output, m *bundle.Manifest) error {
	return r.trail.Run(ctx, "audit", func(ctx context.Context) (trail.Step, error) {
		rep, err := Audit(ctx, AuditInput{Dir: r.stage, Manifest: m, Source: r.in.Source, Time: src.Time, Build: built, Trail: r.trail.Records(), Key: r.in.Key.PublicKey(),
			Gate: []verify.Option{verify.WithSBOMMemo(r.sboms)}})
		if err != nil {
			return trail.Step{}, err
		}
		r.s.log.Info("least-privilege audit", "high", rep.Count(audit.High), "medium", rep.Count(audit.Medium), "low", rep.Count(audit.Low))
		return trail.Step{Inputs: trail.FilesOf(r.stage, bundle.ManifestFile), Outputs: trail.FilesOf(r.stage, bundle.AuditSummaryFile)}, nil
	})
}

// Audit runs the least-privilege audit and a gate pass over the staged bundle, and writes
// audit_summary.md. A high-severity finding, or a bundle that already fails the gate,
// fails the release (ErrGate); the summary is written either way.
func Audit(ctx context.Context, in AuditInput) (*audit.Report, error) {
	module, err := audit.FindDaggerModule(in.Source)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	ain := audit.Input{Dir: in.Dir, Manifest: in.Manifest, CommitTime: in.Time, DaggerModule: module}
	var toolchain, detail string
	var cached, packed []string
	if in.Build != nil {
		cached, packed = in.Build.Cached, in.Build.CachedArtifacts
		ain.Build = BuildRecords(in.Build)
		toolchain, detail = in.Build.Toolchain.Version, in.Build.Toolchain.GoVersion
	}
	// The audit's scans and the gate read the same files and do not depend on each other:
	// they run side by side.
	var gate *verify.Report
	var gateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		gate, gateErr = verify.Run(ctx, in.Dir, append([]verify.Option{verify.WithKeys(in.Key)}, in.Gate...)...)
	}()
	rep, err := audit.Run(ctx, ain)
	<-done
	if err != nil {
		return nil, err
	}
	if gateErr != nil {
		return nil, gateErr
	}
	m := in.Manifest
	if toolchain == "" {
		toolchain = m.Toolchain
	}
	g := audit.Gate{Title: PreEscrowGate, Report: gate, Pending: Pending}
	md := audit.Summary(audit.SummaryInput{
		Project: m.Project, Version: m.Version, Source: m.Source, Time: in.Time,
		Trail: in.Trail, Current: "audit", After: StagesAfterSummary,
		Toolchain: toolchain, ToolchainDetail: detail,
		BaseImages: m.BaseImages, Dependencies: m.Dependencies, CachedBinaries: cached, CachedArtifacts: packed,
		Gates: []audit.Gate{g}, Audit: rep,
	})
	if err := bundle.WriteFile(in.Dir, bundle.AuditSummaryFile, md); err != nil {
		return nil, err
	}
	return rep, AuditGate(rep, g)
}

// Pending are the files the gate run before the escrow expects but cannot find yet.
var Pending = []string{bundle.EscrowFile}

// AuditGate fails (wrapping ErrGate) on a high-severity audit finding, or on a gate pass
// with a problem other than the pending escrow, or without an authenticated signature.
func AuditGate(rep *audit.Report, g audit.Gate) error {
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrGate, err)
	}
	if ps := g.Problems(); len(ps) > 0 {
		return fmt.Errorf("%w: the staged bundle does not pass the gate before the escrow: %d problem(s), first: %s: %s", ErrGate, len(ps), ps[0].File, ps[0].Message)
	}
	if !g.Report.Authenticated {
		return fmt.Errorf("%w: the gate before the escrow checked no signature", ErrGate)
	}
	return nil
}

// BuildRecords turns the build's recorded commands into the audit's input.
func BuildRecords(built *build.Output) []audit.BuildRecord {
	recs := make([]audit.BuildRecord, 0, len(built.Commands))
	for _, c := range built.Commands {
		recs = append(recs, audit.BuildRecord{Name: c.Platform, Env: c.Env})
	}
	return recs
}
