package release_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// checkAuditSummary requires every stage of the run up to the audit, with its digests, the
// toolchain, the image, the pre-escrow gate's result and the audit's findings.
func checkAuditSummary(t *testing.T, out string, res *release.Result) {
	md := read(t, out, bundle.AuditSummaryFile)
	stages := map[string]bool{}
	for _, rec := range res.Trail {
		stages[rec.Stage] = true
		switch rec.Stage {
		case "audit", "escrow", "verify":
			if !strings.Contains(md, "| "+rec.Stage+" | ") {
				t.Errorf("the summary does not list the later stage %s", rec.Stage)
			}
			continue
		}
		if !strings.Contains(md, "| "+rec.Stage+" | "+rec.Status+" | ") || !strings.Contains(md, "### "+rec.Stage+"\n") {
			t.Errorf("the summary lacks the stage %s (%s)", rec.Stage, rec.Status)
		}
		for _, f := range append(rec.Inputs, rec.Outputs...) {
			if f.SHA256 != "" && !strings.Contains(md, "`"+f.Path+"` sha256 `"+f.SHA256+"`") {
				t.Errorf("stage %s: the summary lacks %s's digest", rec.Stage, f.Path)
			}
		}
	}
	for _, s := range []string{"source", "freeze", "build", "reproducibility", "digest", "sign", "attest", "notes", "audit", "escrow", "verify"} {
		if !stages[s] {
			t.Errorf("the run's trail has no %s stage", s)
		}
	}
	for _, want := range []string{
		"| audit | in progress: writing this summary |",
		"| escrow | after this summary |", "| verify | after this summary |",
		"- Go toolchain: `go1.",
		"- Built image `artifacts/multi_v1.0.0-rc.1.oci.tar`: index `sha256:",
		"user `65532:65532`",
		"### " + release.PreEscrowGate,
		"VERIFIED but for the records written after this summary (`escrow.tar.gz`): multi v1.0.0-rc.1",
		"see `verification.sigstore.json`",
		"## Least-privilege audit\n\n0 high, 0 medium, 0 low.",
		"build: 1 recorded command(s) ran with GOPROXY=off and CGO_ENABLED=0",
		"archive artifacts/multi_v1.0.0-rc.1_linux_amd64.tar.gz",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("audit_summary.md lacks %q", want)
		}
	}
	// The audit stage's own record names the summary it wrote, by digest.
	sum := sha256.Sum256([]byte(md))
	for _, rec := range res.Trail {
		if rec.Stage == "audit" && (len(rec.Outputs) != 1 || rec.Outputs[0].SHA256 != hex.EncodeToString(sum[:])) {
			t.Errorf("the audit stage's trail outputs %+v are not the summary's digest", rec.Outputs)
		}
	}
	if t.Failed() {
		t.Logf("audit_summary.md:\n%s", md)
	}
}

func TestAuditGate(t *testing.T) {
	pending := verify.Finding{Check: "escrow", File: bundle.EscrowFile, Status: verify.Fail, Problem: verify.ProblemMissing, Message: "declared but missing"}
	changed := verify.Finding{Check: "artifact", File: "artifacts/x", Status: verify.Fail, Problem: verify.ProblemDigestMismatch, Message: "sha256 differs"}
	high := &audit.Report{Findings: []audit.Finding{{Severity: audit.High, Check: "image", Subject: "artifacts/x.oci.tar (linux/amd64)", Message: "runs as root"}}}
	medium := &audit.Report{Findings: []audit.Finding{{Severity: audit.Medium, Check: "image", Subject: "x", Message: "lacks a label"}}}
	gate := func(authenticated bool, fs ...verify.Finding) audit.Gate {
		return audit.Gate{Report: &verify.Report{Authenticated: authenticated, Findings: fs}, Pending: release.Pending}
	}
	for _, tc := range []struct {
		name string
		rep  *audit.Report
		g    audit.Gate
		fail string // "" when the gate passes
	}{
		{"clean, escrow pending", medium, gate(true, pending), ""},
		{"high-severity finding", high, gate(true, pending), "runs as root"},
		{"changed artifact", medium, gate(true, pending, changed), "artifacts/x: sha256 differs"},
		{"no signature checked", medium, gate(false, pending), "checked no signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := release.AuditGate(tc.rep, tc.g)
			if tc.fail == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, release.ErrGate) || !strings.Contains(err.Error(), tc.fail) {
				t.Fatalf("AuditGate: %v, want ErrGate mentioning %q", err, tc.fail)
			}
		})
	}
}
