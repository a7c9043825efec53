package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// SummaryInput is everything audit_summary.md is made from.
type SummaryInput struct {
	Project, Version string
	Source           bundle.Source
	Time             time.Time      // the release time (from the commit or SOURCE_DATE_EPOCH)
	Notes            []string       // paragraphs under the heading: a promotion, an empty history...
	Trail            []trail.Record // the stages run so far, in order
	Current          string         // the stage writing the summary: listed as in progress
	After            []string       // the stages that run after the summary, in order
	Toolchain        string         // e.g. go1.26.8
	ToolchainDetail  string         // e.g. the `go version` line
	BaseImages       []bundle.Image
	Dependencies     string // sha256: digest of deps.lock.json's dependency set
	Gates            []Gate // verification results known when the summary is written
	Audit            *Report

	// CachedBinaries are the binaries the build reused from its binary cache instead of
	// linking them ("os/arch name"); nil: every binary was linked by this run.
	CachedBinaries []string
	// CachedArtifacts are the archives and image the build copied from its pack cache
	// instead of writing them again; nil: every one was written by this run.
	CachedArtifacts []string
}

// Gate is one verification result to report.
type Gate struct {
	Title  string
	Report *verify.Report
	// Pending are bundle files written after the summary (the escrow): the gate reporting
	// them missing is expected, and shown as pending rather than failed.
	Pending []string
}

// Problems returns the gate's failures other than a pending file reported missing.
func (g Gate) Problems() []verify.Finding {
	var out []verify.Finding
	if g.Report == nil {
		return nil
	}
	for _, f := range g.Report.Findings {
		if f.Status == verify.Fail && !g.pending(f) {
			out = append(out, f)
		}
	}
	return out
}

func (g Gate) pending(f verify.Finding) bool {
	return f.Status == verify.Fail && f.Problem == verify.ProblemMissing && slices.Contains(g.Pending, f.File)
}

// Summary renders audit_summary.md. The output depends only on the input.
func Summary(in SummaryInput) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Audit summary: %s %s\n\n", text(in.Project), text(in.Version))
	writeHeader(&b, in)
	writeStages(&b, in)
	writeToolchain(&b, in)
	writeGates(&b, in)
	writeAudit(&b, in.Audit)
	return []byte(b.String())
}

func writeHeader(b *strings.Builder, in SummaryInput) {
	fmt.Fprintf(b, "Released from commit %s of %s", code(orNone(in.Source.Commit)), code(orNone(in.Source.Repository)))
	if in.Source.Ref != "" {
		fmt.Fprintf(b, " (%s)", code(in.Source.Ref))
	}
	fmt.Fprintf(b, "; release time %s.", stamp(in.Time))
	if in.Source.TreeDigest != "" {
		fmt.Fprintf(b, " Source tree digest %s.", code(in.Source.TreeDigest))
	}
	b.WriteString("\n\n")
	for _, n := range in.Notes {
		b.WriteString(text(n) + "\n\n")
	}
	fmt.Fprintf(b, "This summary is written by the %s stage, before %s: it records the stages up to that point. "+
		"The final gate's verdict is %s, a signed SLSA verification summary (re-run the gate for the full report).",
		code(orNone(in.Current)), orNone(strings.Join(in.After, " and ")), code(bundle.VSAFile))
	if slices.Contains(in.After, "escrow") {
		fmt.Fprintf(b, " This summary, the release notes and the changelog are covered by the signature over %s.", code(bundle.EscrowFile))
	}
	b.WriteString("\n\n")
}

func writeStages(b *strings.Builder, in SummaryInput) {
	b.WriteString("## Stages\n\n| Stage | Status | Start (UTC) | End (UTC) | Duration |\n| --- | --- | --- | --- | ---: |\n")
	for _, r := range in.Trail {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(r.Stage), cell(r.Status), stamp(r.Start), stamp(r.End), seconds(r.Duration()))
	}
	if in.Current != "" {
		fmt.Fprintf(b, "| %s | in progress: writing this summary | | | |\n", cell(in.Current))
	}
	for _, s := range in.After {
		fmt.Fprintf(b, "| %s | after this summary | | | |\n", cell(s))
	}
	b.WriteString("\n")
	for _, r := range in.Trail {
		writeStage(b, r)
	}
}

func writeStage(b *strings.Builder, r trail.Record) {
	fmt.Fprintf(b, "### %s\n\n", text(r.Stage))
	if len(r.Command) > 0 {
		fmt.Fprintf(b, "- Command: %s\n", code(strings.Join(r.Command, " ")))
	}
	if r.Error != "" {
		fmt.Fprintf(b, "- Error: %s\n", text(r.Error))
	}
	writeFiles(b, "Inputs", r.Inputs)
	writeFiles(b, "Outputs", r.Outputs)
	for _, k := range slices.Sorted(maps.Keys(r.Notes)) { // what came from a cache or a memo
		fmt.Fprintf(b, "- %s: %s\n", text(k), text(r.Notes[k]))
	}
	if len(r.Command) == 0 && r.Error == "" && len(r.Inputs) == 0 && len(r.Outputs) == 0 {
		b.WriteString("- " + text(r.Status) + "\n")
	}
	b.WriteString("\n")
}

func writeFiles(b *strings.Builder, title string, files []trail.File) {
	if len(files) == 0 {
		return
	}
	fmt.Fprintf(b, "- %s:\n", title)
	for _, f := range files {
		sum := "(not recorded)"
		if f.SHA256 != "" {
			sum = "sha256 " + code(f.SHA256)
		}
		fmt.Fprintf(b, "  - %s %s\n", code(f.Path), sum)
	}
}

func writeToolchain(b *strings.Builder, in SummaryInput) {
	b.WriteString("## Toolchain and images\n\n")
	fmt.Fprintf(b, "- Go toolchain: %s", code(orNone(in.Toolchain)))
	if in.ToolchainDetail != "" {
		fmt.Fprintf(b, " (%s)", code(in.ToolchainDetail))
	}
	b.WriteString("\n")
	if in.Dependencies != "" {
		fmt.Fprintf(b, "- Frozen dependency set (%s): %s\n", code(bundle.DepsLockFile), code(in.Dependencies))
	}
	if len(in.CachedBinaries) > 0 {
		fmt.Fprintf(b, "- Binaries from the binary cache (linked by an earlier build with the same source tree, lock, toolchain, platform, flags and environment): %s\n", text(strings.Join(in.CachedBinaries, ", ")))
	}
	if len(in.CachedArtifacts) > 0 {
		fmt.Fprintf(b, "- Artifacts from the pack cache (written by an earlier run of the same reliquary executable from the same binaries, files, times and labels): %s\n", text(strings.Join(in.CachedArtifacts, ", ")))
	}
	if len(in.BaseImages) == 0 {
		b.WriteString("- Base images: none recorded (images built on scratch; the host ran the build)\n")
	}
	for _, im := range in.BaseImages {
		fmt.Fprintf(b, "- Base image: %s@%s\n", code(im.Name), code(im.Digest))
	}
	if in.Audit != nil {
		for _, im := range in.Audit.Images {
			fmt.Fprintf(b, "- Built image %s: index %s\n", code(im.Path), code(im.Index))
			for _, m := range im.Manifests {
				fmt.Fprintf(b, "  - %s: %s, user %s, %d layer(s)%s\n", text(m.Platform), code(m.Digest), code(orNone(m.User)), m.Layers, labelList(m.Labels))
			}
		}
	}
	b.WriteString("\n")
}

func labelList(l map[string]string) string {
	if len(l) == 0 {
		return ", no OCI labels"
	}
	var parts []string
	for _, k := range sortedKeys(l) {
		parts = append(parts, strings.TrimPrefix(k, "org.opencontainers.image.")+"="+code(l[k]))
	}
	return ", labels " + strings.Join(parts, " ")
}

func writeGates(b *strings.Builder, in SummaryInput) {
	b.WriteString("## Verification\n\n")
	if len(in.Gates) == 0 {
		b.WriteString("No gate ran before this summary.\n\n")
	}
	for _, g := range in.Gates {
		writeGate(b, g)
	}
	fmt.Fprintf(b, "The final gate runs after the escrow, over the finished bundle; see %s.\n\n", code(bundle.VSAFile))
}

func writeGate(b *strings.Builder, g Gate) {
	fmt.Fprintf(b, "### %s\n\n", text(g.Title))
	r := g.Report
	if r == nil {
		b.WriteString("Not run.\n\n")
		return
	}
	verdict := "VERIFIED"
	switch n := len(g.Problems()); {
	case n > 0:
		verdict = fmt.Sprintf("FAILED (%d problem(s))", n)
	case !r.Authenticated:
		verdict = "VERIFIED (digests only: no trusted key)"
	}
	var pending []string
	for _, f := range r.Findings {
		if g.pending(f) {
			pending = append(pending, code(f.File))
		}
	}
	if len(pending) > 0 {
		verdict += " but for the records written after this summary (" + strings.Join(pending, ", ") + ")"
	}
	fmt.Fprintf(b, "%s: %s %s, manifest sha256 %s.\n\n", verdict, text(orNone(r.Project)), text(orNone(r.Version)), code(orNone(r.ManifestSHA256)))
	b.WriteString("| Check | Passed | Failed | Skipped |\n| --- | ---: | ---: | ---: |\n")
	for _, c := range r.Checks {
		fmt.Fprintf(b, "| %s | %d | %d | %d |\n", cell(c.Check), c.Passed, c.Failed, c.Skipped)
	}
	b.WriteString("\n")
	for _, f := range r.Findings {
		status := strings.ToUpper(string(f.Status))
		if g.pending(f) {
			status = "PENDING"
		}
		fmt.Fprintf(b, "- %s %s: %s\n", status, code(f.File), text(f.Message))
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n")
	}
}

func writeAudit(b *strings.Builder, r *Report) {
	b.WriteString("## Least-privilege audit\n\n")
	if r == nil {
		b.WriteString("Not run.\n")
		return
	}
	fmt.Fprintf(b, "%d high, %d medium, %d low. A high-severity finding fails the release.\n\n", r.Count(High), r.Count(Medium), r.Count(Low))
	if len(r.Findings) > 0 {
		b.WriteString("| Severity | Check | Subject | Finding |\n| --- | --- | --- | --- |\n")
		for _, f := range r.Findings {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", f.Severity, cell(f.Check), cell(code(f.Subject)), cell(text(f.Message)))
		}
		b.WriteString("\n")
	}
	if len(r.Checked) > 0 {
		b.WriteString("Checked and sound:\n\n")
		for _, c := range r.Checked {
			b.WriteString("- " + text(c) + "\n")
		}
	}
}

// text keeps untrusted text on one line and free of raw HTML.
func text(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
	return strings.ReplaceAll(s, "<", "&lt;")
}

// code makes a code span that untrusted text cannot break out of: fenced with more
// backticks than the longest run inside it.
func code(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// cell escapes a table cell's pipes.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
