package bench

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// row is one line of a table: a benchmark in one unit, with or without a baseline.
type row struct {
	name     string
	base     *Summary
	cur      *Summary
	cmp      *Comparison // nil without a baseline
	warnings []string
}

// group is one package's rows in one unit.
type group struct {
	pkg, unit string
	rows      []row
}

// groups arranges the report the way benchstat does: by package, then by unit.
func groups(r *Report) []group {
	var out []group
	add := func(k Key, rw row) {
		if n := len(out); n > 0 && out[n-1].pkg == k.Package && out[n-1].unit == k.Unit {
			out[n-1].rows = append(out[n-1].rows, rw)
			return
		}
		out = append(out, group{pkg: k.Package, unit: k.Unit, rows: []row{rw}})
	}
	if r.Baseline != nil {
		for i := range r.Comparisons {
			c := &r.Comparisons[i]
			add(c.Key(), row{name: c.Name, base: c.Baseline, cur: c.Current, cmp: c, warnings: c.Warnings})
		}
	} else {
		p, _ := NewPolicy()
		for _, s := range r.Current.Series {
			var c Comparison
			sum := summarize(benchmath.NewSample(append([]float64(nil), s.Values...), &benchmath.Thresholds{CompareAlpha: p.alpha}), &c)
			add(s.Key(), row{name: s.Name, cur: sum, warnings: c.Warnings})
		}
	}
	// Rows of one package and unit are contiguous only when sorted by package, unit, name.
	return regroup(out)
}

// regroup merges groups with the same package and unit, keeping first-appearance order of
// packages and benchstat's unit order within a package.
func regroup(in []group) []group {
	type gk struct{ pkg, unit string }
	idx := map[gk]int{}
	var out []group
	for _, g := range in {
		k := gk{g.pkg, g.unit}
		if i, ok := idx[k]; ok {
			out[i].rows = append(out[i].rows, g.rows...)
			continue
		}
		idx[k] = len(out)
		out = append(out, g)
	}
	// Stable order: packages as they come (sorted already), units by rank within a package.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].pkg == out[j-1].pkg && unitLess(out[j].unit, out[j-1].unit); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// scaler picks one scale for a row, as benchstat does, so its two medians read alike.
func (r *row) scaler(unit string) benchunit.Scaler {
	var vals []float64
	for _, s := range []*Summary{r.base, r.cur} {
		if s != nil {
			vals = append(vals, s.Center)
		}
	}
	return benchunit.CommonScale(vals, benchunit.ClassOf(unit))
}

// cell formats a median and its confidence interval as benchstat does: "1.234µ ± 2%".
func cell(s *Summary, sc benchunit.Scaler) string {
	if s == nil {
		return ""
	}
	bs := benchmath.Summary{Center: s.Center, Lo: math.Inf(-1), Hi: math.Inf(1)}
	if s.Lo != nil && s.Hi != nil {
		bs.Lo, bs.Hi = *s.Lo, *s.Hi
	}
	return sc.Format(s.Center) + " ± " + bs.PctRangeString()
}

// delta is benchstat's last column: "~" when not significant, else the change.
func delta(c *Comparison) string {
	switch c.Verdict {
	case VerdictAdded, VerdictRemoved:
		return ""
	case VerdictSame:
		return "~"
	}
	return formatChange(c.ChangePct, c.Baseline.Center, c.Current.Center)
}

func pn(c *Comparison) string {
	if c.P == nil {
		return ""
	}
	n1, n2 := c.Baseline.N, c.Current.N
	n := fmt.Sprintf("n=%d", n1)
	if n1 != n2 {
		n = fmt.Sprintf("n=%d+%d", n1, n2)
	}
	return pText(*c.P, c.PAdjusted, " corrected ") + " " + n
}

func sideLabel(s *Side, fallback string) string {
	label := fallback
	if s.Ref != "" {
		label = s.Ref
	}
	if s.Commit != "" {
		label += " (" + s.Commit[:min(12, len(s.Commit))]
		if s.Dirty {
			label += ", dirty"
		}
		label += ")"
	}
	return label
}

func machineLine(m Machine) string {
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, %s", cpu, m.Cores, m.GOOS, m.GOARCH, m.GoVersion)
}

// Text renders the report as a benchstat-style plain-text table followed by the gate.
func Text(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %s\n", machineLine(r.Machine))
	if r.Baseline != nil {
		fmt.Fprintf(&b, "baseline %s vs %s, %d samples each, interleaved\n",
			sideLabel(r.Baseline, "baseline"), sideLabel(&r.Current, "current"), r.Config.Count)
	} else {
		fmt.Fprintf(&b, "%s, %d samples, no baseline\n", sideLabel(&r.Current, "current"), r.Config.Count)
	}
	pkg := "\x00"
	for _, g := range groups(r) {
		if g.pkg != pkg {
			pkg = g.pkg
			fmt.Fprintf(&b, "\npkg: %s\n", g.pkg)
		} else {
			b.WriteString("\n")
		}
		textGroup(&b, r, &g)
	}
	b.WriteString("\n")
	b.WriteString(gateText(&r.Gate))
	return b.String()
}

func textGroup(b *strings.Builder, r *Report, g *group) {
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 0, 0, 3, ' ', 0)
	if r.Baseline != nil {
		fmt.Fprintf(tw, "%s\t%s\t%s\tvs base\n", g.unit, sideLabel(r.Baseline, "baseline"), sideLabel(&r.Current, "current"))
	} else {
		fmt.Fprintf(tw, "%s\t%s\n", g.unit, sideLabel(&r.Current, "current"))
	}
	var notes []string
	for _, rw := range g.rows {
		sc := rw.scaler(g.unit)
		if rw.cmp != nil {
			last := strings.TrimSpace(delta(rw.cmp) + " " + paren(pn(rw.cmp)))
			verdict := ""
			if rw.cmp.Verdict != VerdictSame {
				verdict = string(rw.cmp.Verdict)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rw.name, cell(rw.base, sc), cell(rw.cur, sc), last, verdict)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", rw.name, cell(rw.cur, sc))
		}
		for _, w := range rw.warnings {
			notes = append(notes, rw.name+": "+w)
		}
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(tb.String(), "\n") {
		b.WriteString(strings.TrimRight(line, " \n"))
		if strings.HasSuffix(line, "\n") {
			b.WriteString("\n")
		}
	}
	for _, n := range notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func thresholdsText(g *Gate) string {
	parts := make([]string, 0, len(g.Thresholds))
	for _, t := range g.Thresholds {
		if t.Pct == 0 {
			parts = append(parts, t.Unit+" any increase")
		} else {
			parts = append(parts, fmt.Sprintf("%s +%g%%", t.Unit, t.Pct))
		}
	}
	if len(parts) == 0 {
		return "no gated units"
	}
	return strings.Join(parts, ", ")
}

// correctionText names the gate's multiple-comparison correction, if any.
func correctionText(g *Gate) string {
	if g.Correction != CorrectionHolm {
		return ""
	}
	return fmt.Sprintf(", Holm-corrected over the %d gated comparison(s)", g.Family)
}

func gateText(g *Gate) string {
	var b strings.Builder
	switch g.Status {
	case GateSkipped:
		fmt.Fprintf(&b, "gate: skipped (%s)\n", g.Reason)
		return b.String()
	case GateFailed:
		fmt.Fprintf(&b, "gate: FAILED, %d regression(s)\n", len(g.Regressions))
	default:
		fmt.Fprintf(&b, "gate: passed\n")
	}
	fmt.Fprintf(&b, "  thresholds: %s; significance p < %g%s\n", thresholdsText(g), g.Alpha, correctionText(g))
	for _, f := range g.Regressions {
		fmt.Fprintf(&b, "  regression: %s\n", f)
	}
	for _, f := range g.Allowed {
		fmt.Fprintf(&b, "  allowed:    %s\n", f)
	}
	for _, a := range g.UnusedAllows {
		fmt.Fprintf(&b, "  unused allowance: %s (no regression to allow)\n", a)
	}
	return b.String()
}

// Markdown renders the report for release notes and the audit summary: a summary line, a
// table per package and the gate's outcome. It has no heading of its own.
func Markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s.  \n", mdEscape(machineLine(r.Machine)))
	if r.Baseline != nil {
		fmt.Fprintf(&b, "Baseline %s against %s, %d samples each, run interleaved on this machine; medians ± 95%% confidence interval, Mann-Whitney U test.\n",
			mdEscape(sideLabel(r.Baseline, "baseline")), mdEscape(sideLabel(&r.Current, "current")), r.Config.Count)
	} else {
		fmt.Fprintf(&b, "Measured %s, %d samples; medians ± 95%% confidence interval. No baseline was compared.\n",
			mdEscape(sideLabel(&r.Current, "current")), r.Config.Count)
	}
	pkg := "\x00"
	for _, g := range groups(r) {
		if g.pkg != pkg {
			pkg = g.pkg
			fmt.Fprintf(&b, "\n**%s**\n", mdEscape(g.pkg))
			mdHeader(&b, r)
		}
		mdRows(&b, &g)
	}
	b.WriteString("\n")
	b.WriteString(gateMarkdown(&r.Gate))
	return b.String()
}

func mdHeader(b *strings.Builder, r *Report) {
	b.WriteString("\n")
	if r.Baseline != nil {
		fmt.Fprintf(b, "| Benchmark | Unit | %s | %s | Change | p | Verdict |\n|---|---|--:|--:|--:|--:|---|\n",
			mdEscape(sideLabel(r.Baseline, "baseline")), mdEscape(sideLabel(&r.Current, "current")))
	} else {
		fmt.Fprintf(b, "| Benchmark | Unit | %s |\n|---|---|--:|\n", mdEscape(sideLabel(&r.Current, "current")))
	}
}

func mdRows(b *strings.Builder, g *group) {
	for _, rw := range g.rows {
		sc := rw.scaler(g.unit)
		if rw.cmp == nil {
			fmt.Fprintf(b, "| %s | %s | %s |\n", mdEscape(rw.name), mdEscape(g.unit), cell(rw.cur, sc))
			continue
		}
		p := ""
		if c := rw.cmp; c.P != nil {
			p = fmt.Sprintf("%.3f", *c.P)
			if c.PAdjusted != nil {
				if adj := fmt.Sprintf("%.3f", *c.PAdjusted); adj != p {
					p += " (corrected " + adj + ")"
				}
			}
		}
		verdict := mdEscape(string(rw.cmp.Verdict))
		if rw.cmp.Verdict == VerdictRegression {
			verdict = "**regression**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(rw.name), mdEscape(g.unit),
			cell(rw.base, sc), cell(rw.cur, sc), mdEscape(delta(rw.cmp)), p, verdict)
	}
}

func gateMarkdown(g *Gate) string {
	var b strings.Builder
	switch g.Status {
	case GateSkipped:
		fmt.Fprintf(&b, "**Benchmark gate: skipped** (%s).\n", mdEscape(g.Reason))
		return b.String()
	case GateFailed:
		fmt.Fprintf(&b, "**Benchmark gate: failed**, %d regression(s)", len(g.Regressions))
	default:
		b.WriteString("**Benchmark gate: passed**")
	}
	fmt.Fprintf(&b, " (thresholds: %s; significance p < %g%s; \"~\" means no significant difference).\n",
		mdEscape(thresholdsText(g)), g.Alpha, correctionText(g))
	list := func(label string, fs []Finding) {
		for _, f := range fs {
			fmt.Fprintf(&b, "- %s: %s\n", label, mdEscape(f.String()))
		}
	}
	if len(g.Regressions)+len(g.Allowed)+len(g.UnusedAllows) > 0 {
		b.WriteString("\n")
	}
	list("Regression", g.Regressions)
	list("Accepted regression", g.Allowed)
	for _, a := range g.UnusedAllows {
		fmt.Fprintf(&b, "- Unused allowance: %s\n", mdEscape(a))
	}
	return b.String()
}

// mdEscape makes text from benchmark names and machine descriptions inert in Markdown,
// including inside table cells.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '!', '~', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
