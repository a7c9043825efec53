package audit_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

func summaryInput(t *testing.T) audit.SummaryInput {
	t.Helper()
	report, err := verify.Run(context.Background(), testbundle.New(t, testbundle.Default()), verify.WithDigestsOnlyUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sum := strings.Repeat("ab", 32)
	return audit.SummaryInput{
		Project: "app", Version: "v1.0.0",
		Source: bundle.Source{Repository: testRepo, Ref: "refs/tags/v1.0.0", Commit: testCommit, TreeDigest: "sha256:" + sum},
		Time:   commitTime,
		Notes:  []string{"Promoted from v1.0.0-rc.1 without a rebuild."},
		Trail: []trail.Record{
			{Stage: "source", Start: start, End: start.Add(120 * time.Millisecond), Command: []string{"git", "rev-parse", "HEAD"}, Outputs: []trail.File{{Path: "source-tree", SHA256: sum}}, Status: "ok"},
			{Stage: "reproducibility", Start: start, End: start, Status: "skipped: not asked (--check-reproducible)"},
			{Stage: "build", Start: start, End: start.Add(3 * time.Second), Command: []string{"reliquary", "build", ".", "--version", "v1.0.0|`x`"},
				Inputs: []trail.File{{Path: "deps.lock.json", SHA256: sum}}, Outputs: []trail.File{{Path: "artifacts/app_v1.0.0_linux_amd64.tar.gz", SHA256: sum}, {Path: "gone"}}, Status: "ok"},
		},
		Current: "audit", After: []string{"escrow", "verify"},
		Toolchain: "go1.26.8", ToolchainDetail: "go version go1.26.8 linux/amd64",
		BaseImages:   []bundle.Image{{Name: "cgr.dev/chainguard/static", Digest: "sha256:" + sum}},
		Dependencies: "sha256:" + sum,
		Gates:        []audit.Gate{{Title: "Gate before escrow", Report: report}},
		Audit: &audit.Report{
			Findings: []audit.Finding{{Severity: audit.Medium, Check: "image", Subject: "artifacts/app.oci.tar (linux/amd64)", Message: "lacks the label <script>"}},
			Checked:  []string{"secrets: no private key material in the bundle's 6 files"},
			Images:   []audit.Image{{Path: "artifacts/app.oci.tar", Index: "sha256:" + sum, Manifests: []audit.ImageManifest{{Platform: "linux/amd64", Digest: "sha256:" + sum, User: "65532:65532", Layers: 1}}}},
		},
	}
}

func TestSummaryContents(t *testing.T) {
	in := summaryInput(t)
	md := string(audit.Summary(in))
	for _, want := range []string{
		"# Audit summary: app v1.0.0\n",
		"commit `" + testCommit + "`",
		"Promoted from v1.0.0-rc.1 without a rebuild.",
		"| source | ok | 2026-01-02T03:04:05.000Z | 2026-01-02T03:04:05.120Z | 0.120 s |",
		"| reproducibility | skipped: not asked (--check-reproducible) |",
		"| audit | in progress: writing this summary |",
		"| escrow | after this summary |",
		"| verify | after this summary |",
		"- Command: `git rev-parse HEAD`",
		"  - `deps.lock.json` sha256 `" + strings.Repeat("ab", 32) + "`",
		"  - `gone` (not recorded)",
		"- Go toolchain: `go1.26.8` (`go version go1.26.8 linux/amd64`)",
		"- Base image: `cgr.dev/chainguard/static`@`sha256:",
		"- Built image `artifacts/app.oci.tar`: index `sha256:",
		"user `65532:65532`",
		"### Gate before escrow",
		"VERIFIED (digests only: no trusted key): app v1.0.0",
		"| artifact |",
		"The final gate's verdict is `verification.sigstore.json`",
		"covered by the signature over `escrow.tar.gz`",
		"0 high, 1 medium, 0 low.",
		"| medium | image | `artifacts/app.oci.tar (linux/amd64)` | lacks the label &lt;script> |",
		"- secrets: no private key material",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	// A backtick in untrusted text cannot close the code span early.
	if !strings.Contains(md, "`` reliquary build . --version v1.0.0|`x` ``") {
		t.Errorf("hostile command not fenced:\n%s", md)
	}
	if strings.Contains(md, "<script>") {
		t.Error("raw HTML reached the summary")
	}
	if !bytes.Equal(audit.Summary(in), audit.Summary(summaryInput(t))) {
		t.Error("the same input gave two summaries")
	}
}

func TestSummaryWithoutGatesOrAudit(t *testing.T) {
	md := string(audit.Summary(audit.SummaryInput{Project: "app", Version: "v1.0.0"}))
	for _, want := range []string{"No gate ran before this summary.", "## Least-privilege audit\n\nNot run.", "release time (unknown)"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "escrow.tar.gz") {
		t.Error("a summary without an escrow after it claims escrow coverage")
	}
}

func TestGatePendingRecords(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default())
	report, err := verify.Run(context.Background(), dir, verify.WithDigestsOnlyUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	// A report that misses the escrow (written after the summary) and one changed artifact.
	report.Findings = append(report.Findings,
		verify.Finding{Check: "escrow", File: bundle.EscrowFile, Status: verify.Fail, Problem: verify.ProblemMissing, Message: "the manifest declares an escrow archive but the bundle has none"},
		verify.Finding{Check: "artifact", File: "artifacts/x", Status: verify.Fail, Problem: verify.ProblemDigestMismatch, Message: "sha256 differs"})
	g := audit.Gate{Title: "before escrow", Report: report, Pending: []string{bundle.EscrowFile}}
	if ps := g.Problems(); len(ps) != 1 || ps[0].File != "artifacts/x" {
		t.Fatalf("Problems() = %+v, want only the changed artifact", ps)
	}
	md := string(audit.Summary(audit.SummaryInput{Gates: []audit.Gate{g}}))
	for _, want := range []string{"FAILED (1 problem(s)) but for the records written after this summary (`escrow.tar.gz`)", "- PENDING `escrow.tar.gz`", "- FAIL `artifacts/x`: sha256 differs"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// Without Pending, a missing escrow is a problem like any other.
	if ps := (audit.Gate{Report: report}).Problems(); len(ps) != 2 {
		t.Fatalf("Problems() without Pending = %+v", ps)
	}
}
