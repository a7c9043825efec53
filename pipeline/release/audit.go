package release

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// StagesAfterSummary are the stages that run after audit_summary.md is written: the summary
// lists them as pending, and says where their results are.
var StagesAfterSummary = []string{"escrow", "verify"}

// PreEscrowGate is the title of the gate run the audit summary reports: the staged bundle,
// with signatures checked against the release key, before the escrow and the final gate.
const PreEscrowGate = "Gate over the staged bundle, before the escrow (release key trusted)"

// audit runs the least-privilege audit and a gate pass over the staged bundle, and writes
// audit_summary.md. A high-severity finding, or a bundle that already fails the gate,
// fails the release.
func (r *run) audit(ctx context.Context, src *sourceInfo, built *build.Output, m *bundle.Manifest) error {
	return r.trail.Run(ctx, "audit", func(ctx context.Context) (trail.Step, error) {
		module, err := audit.FindDaggerModule(r.in.Source)
		if err != nil {
			return trail.Step{}, fmt.Errorf("audit: %w", err)
		}
		rep, err := audit.Run(ctx, audit.Input{Dir: r.stage, Manifest: m, CommitTime: src.Time, Build: BuildRecords(built), DaggerModule: module})
		if err != nil {
			return trail.Step{}, err
		}
		gate, err := verify.Run(ctx, r.stage, verify.WithKeys(r.in.Key.PublicKey()))
		if err != nil {
			return trail.Step{}, err
		}
		g := audit.Gate{Title: PreEscrowGate, Report: gate, Pending: Pending}
		md := audit.Summary(audit.SummaryInput{
			Project: m.Project, Version: m.Version, Source: m.Source, Time: src.Time,
			Trail: r.trail.Records(), Current: "audit", After: StagesAfterSummary,
			Toolchain: built.Toolchain.Version, ToolchainDetail: built.Toolchain.GoVersion,
			BaseImages: m.BaseImages, Dependencies: m.Dependencies,
			Gates: []audit.Gate{g}, Audit: rep,
		})
		if err := bundle.WriteFile(r.stage, bundle.AuditSummaryFile, md); err != nil {
			return trail.Step{}, err
		}
		r.s.log.Info("least-privilege audit", "high", rep.Count(audit.High), "medium", rep.Count(audit.Medium), "low", rep.Count(audit.Low))
		if err := AuditGate(rep, g); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Inputs: trail.FilesOf(r.stage, bundle.ManifestFile), Outputs: trail.FilesOf(r.stage, bundle.AuditSummaryFile)}, nil
	})
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
