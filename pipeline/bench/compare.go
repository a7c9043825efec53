package bench

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// Verdict is the outcome for one benchmark in one unit.
type Verdict string

// Verdicts. Only VerdictRegression fails the gate.
const (
	VerdictSame       Verdict = "~"          // no statistically significant difference
	VerdictBetter     Verdict = "better"     // significantly better
	VerdictWorse      Verdict = "worse"      // significantly worse, within the unit's threshold or in an ungated unit
	VerdictRegression Verdict = "regression" // significantly worse beyond the threshold: the gate fails
	VerdictAllowed    Verdict = "allowed"    // a regression accepted knowingly with WithAllowRegression
	VerdictChanged    Verdict = "changed"    // significantly different in a unit whose better direction is unknown
	VerdictRemoved    Verdict = "removed"    // in the baseline only
	VerdictAdded      Verdict = "added"      // in the current tree only
)

var verdicts = map[Verdict]bool{
	VerdictSame: true, VerdictBetter: true, VerdictWorse: true, VerdictRegression: true,
	VerdictAllowed: true, VerdictChanged: true, VerdictRemoved: true, VerdictAdded: true,
}

// Confidence is the level of the confidence intervals reported around each median.
const Confidence = 0.95

// Comparison is benchstat's row for one benchmark and unit.
type Comparison struct {
	Package   string   `json:"package"`
	Name      string   `json:"name"`
	Unit      string   `json:"unit"`
	Baseline  *Summary `json:"baseline,omitempty"`  // nil when the benchmark is new
	Current   *Summary `json:"current,omitempty"`   // nil when it was removed
	ChangePct *float64 `json:"changePct,omitempty"` // (current/baseline - 1) * 100 of the medians; nil if undefined
	P         *float64 `json:"p,omitempty"`         // Mann-Whitney U test; nil when one side is missing
	// PAdjusted is P after the gate's multiple-comparison correction (Gate.Correction), set
	// on the comparisons that can fail the gate; their significance is decided on it.
	PAdjusted *float64 `json:"pAdjusted,omitempty"`
	Verdict   Verdict  `json:"verdict"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Summary is a sample's median and its confidence interval.
type Summary struct {
	Center     float64  `json:"center"`
	Lo         *float64 `json:"lo,omitempty"` // nil: too few samples for a finite interval
	Hi         *float64 `json:"hi,omitempty"`
	Confidence float64  `json:"confidence"`
	N          int      `json:"n"`
}

// Key returns the comparison's key.
func (c Comparison) Key() Key { return Key{c.Package, c.Name, c.Unit} }

// Gate is the regression gate's outcome and the policy it applied.
type Gate struct {
	Status string  `json:"status"`           // GatePassed, GateFailed or GateSkipped
	Reason string  `json:"reason,omitempty"` // why it was skipped
	Alpha  float64 `json:"alpha"`
	// Correction is how p-values were corrected for comparing many benchmarks at once:
	// CorrectionHolm or CorrectionNone ("" in reports written before it existed: none).
	Correction string `json:"correction,omitempty"`
	// Family is how many comparisons the correction covered: those in gated units with
	// both sides present.
	Family          int         `json:"family,omitempty"`
	Thresholds      []Threshold `json:"thresholds"`
	AllowRegression []string    `json:"allowRegression,omitempty"` // names accepted knowingly, as given
	Regressions     []Finding   `json:"regressions,omitempty"`
	Allowed         []Finding   `json:"allowed,omitempty"`
	UnusedAllows    []string    `json:"unusedAllows,omitempty"` // allowances that matched no regression
}

// Gate statuses.
const (
	GatePassed  = "passed"
	GateFailed  = "failed"
	GateSkipped = "skipped" // nothing to compare against: not a pass
)

// Threshold is how much worse a unit may get, in percent of the baseline median, before a
// significant change is a regression. 0 means any change for the worse.
type Threshold struct {
	Unit string  `json:"unit"`
	Pct  float64 `json:"pct"`
}

// Finding names one regression.
type Finding struct {
	Package   string   `json:"package"`
	Name      string   `json:"name"`
	Unit      string   `json:"unit"`
	Baseline  float64  `json:"baseline"` // median
	Current   float64  `json:"current"`  // median
	ChangePct *float64 `json:"changePct,omitempty"`
	P         float64  `json:"p"`
	PAdjusted *float64 `json:"pAdjusted,omitempty"` // after the gate's correction
}

// String is "pkg.Name unit +12.34% (1.2µ → 1.3µ, p=0.002)", with ", corrected p=0.040"
// after p when the correction changed it.
func (f Finding) String() string {
	sc := benchunit.CommonScale([]float64{f.Baseline, f.Current}, benchunit.ClassOf(f.Unit))
	return fmt.Sprintf("%s %s (%s → %s, %s)", f.Key(), formatChange(f.ChangePct, f.Baseline, f.Current),
		sc.Format(f.Baseline), sc.Format(f.Current), pText(f.P, f.PAdjusted, ", corrected "))
}

// pText is "p=0.002", followed by sep and the corrected p-value when it reads differently.
func pText(p float64, adj *float64, sep string) string {
	s := fmt.Sprintf("p=%.3f", p)
	if adj != nil {
		if a := fmt.Sprintf("p=%.3f", *adj); a != s {
			s += sep + a
		}
	}
	return s
}

// Key returns the finding's key.
func (f Finding) Key() Key { return Key{f.Package, f.Name, f.Unit} }

// ErrRegression is the root of the error Gate.Err returns.
var ErrRegression = errors.New("benchmark regression")

// Err returns nil unless the gate failed, and then an error naming every regression.
func (g *Gate) Err() error {
	if g.Status != GateFailed {
		return nil
	}
	parts := make([]string, len(g.Regressions))
	for i, f := range g.Regressions {
		parts[i] = f.String()
	}
	return fmt.Errorf("%w: %s", ErrRegression, strings.Join(parts, "; "))
}

// Multiple-comparison corrections.
const (
	// CorrectionHolm is Holm's step-down method over the gated comparisons of one run: the
	// chance that identical code fails the gate somewhere (the family-wise error rate) stays
	// at most alpha, however many benchmarks there are and however they are correlated.
	CorrectionHolm = "holm"
	// CorrectionNone tests each comparison at alpha on its own.
	CorrectionNone = "none"
)

// Policy is the gate's policy. The zero value is not usable; build one with NewPolicy.
type Policy struct {
	alpha      float64
	correction string
	thresholds map[string]float64
	allow      []string
}

// Option adjusts a Policy.
type Option func(*Policy) error

// DefaultThresholds are the gated units: 5% slower, or any additional allocation.
func DefaultThresholds() []Threshold {
	return []Threshold{{Unit: "sec/op", Pct: 5}, {Unit: "allocs/op", Pct: 0}}
}

// WithThreshold gates unit: a significant change for the worse of more than pct percent is a
// regression. It adds a unit or replaces its default.
func WithThreshold(unit string, pct float64) Option {
	return func(p *Policy) error {
		if unit == "" {
			return errors.New("bench: threshold: empty unit")
		}
		if math.IsNaN(pct) || math.IsInf(pct, 0) || pct < 0 {
			return fmt.Errorf("bench: threshold for %s: %v is not a percentage >= 0", unit, pct)
		}
		p.thresholds[unit] = pct
		return nil
	}
}

// WithoutThreshold stops gating unit (its changes are still reported).
func WithoutThreshold(unit string) Option {
	return func(p *Policy) error {
		delete(p.thresholds, unit)
		return nil
	}
}

// WithAlpha sets the significance level (default 0.05).
func WithAlpha(alpha float64) Option {
	return func(p *Policy) error {
		if !(alpha > 0 && alpha < 1) {
			return fmt.Errorf("bench: alpha %v is not in (0, 1)", alpha)
		}
		p.alpha = alpha
		return nil
	}
}

// WithCorrection sets the multiple-comparison correction (default CorrectionHolm).
func WithCorrection(name string) Option {
	return func(p *Policy) error {
		if name != CorrectionHolm && name != CorrectionNone {
			return fmt.Errorf("bench: correction %q: want %s or %s", name, CorrectionHolm, CorrectionNone)
		}
		p.correction = name
		return nil
	}
}

// WithAllowRegression accepts regressions of the named benchmarks. A name matches a benchmark
// whose full name (with or without "Benchmark", with or without the -N GOMAXPROCS suffix)
// equals it, and every sub-benchmark under it. Allowed regressions are recorded.
func WithAllowRegression(names ...string) Option {
	return func(p *Policy) error {
		for _, n := range names {
			n = strings.TrimSpace(n)
			if strings.TrimPrefix(n, "Benchmark") == "" {
				return errors.New("bench: allow-regression: empty benchmark name")
			}
			p.allow = append(p.allow, n)
		}
		return nil
	}
}

// NewPolicy returns the default policy adjusted by opts.
func NewPolicy(opts ...Option) (*Policy, error) {
	p := &Policy{alpha: benchmath.DefaultThresholds.CompareAlpha, correction: CorrectionHolm, thresholds: map[string]float64{}}
	for _, t := range DefaultThresholds() {
		p.thresholds[t.Unit] = t.Pct
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	sort.Strings(p.allow)
	return p, nil
}

// SkippedGate is the gate's record when there was nothing to compare against.
func (p *Policy) SkippedGate(reason string) Gate {
	g := p.gate()
	g.Status, g.Reason = GateSkipped, reason
	return g
}

func (p *Policy) gate() Gate {
	g := Gate{Alpha: p.alpha, Correction: p.correction, Thresholds: []Threshold{}}
	for u, pct := range p.thresholds {
		g.Thresholds = append(g.Thresholds, Threshold{Unit: u, Pct: pct})
	}
	sort.Slice(g.Thresholds, func(i, j int) bool { return unitLess(g.Thresholds[i].Unit, g.Thresholds[j].Unit) })
	g.AllowRegression = append([]string(nil), p.allow...)
	return g
}

// Compare compares every series of current with the same series of baseline and applies the
// gate. Both lists may be in any order; the result is in canonical order.
func (p *Policy) Compare(baseline, current []Series) ([]Comparison, Gate) {
	base, cur := indexSeries(baseline), indexSeries(current)
	keys := unionKeys(base, cur)
	out := make([]Comparison, 0, len(keys))
	for _, k := range keys {
		out = append(out, p.compareOne(k, base[k], cur[k]))
	}
	g := p.gate()
	g.Family = p.correct(out)
	used := p.judge(out, &g)
	for _, a := range p.allow {
		if !used[a] {
			g.UnusedAllows = append(g.UnusedAllows, a)
		}
	}
	g.Status = GatePassed
	if len(g.Regressions) > 0 {
		g.Status = GateFailed
	}
	return out, g
}

// judge gives every comparison its verdict and collects the regressions, allowed or not,
// into g; it returns the allowances that were used.
func (p *Policy) judge(cs []Comparison, g *Gate) map[string]bool {
	used := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		if c.P != nil {
			c.Verdict = p.verdict(c)
		}
		if c.Verdict != VerdictRegression {
			continue
		}
		if a := p.allowedBy(c.Name); a != "" {
			c.Verdict = VerdictAllowed
			used[a] = true
			g.Allowed = append(g.Allowed, finding(c))
		} else {
			g.Regressions = append(g.Regressions, finding(c))
		}
	}
	return used
}

func finding(c *Comparison) Finding {
	return Finding{Package: c.Package, Name: c.Name, Unit: c.Unit, Baseline: c.Baseline.Center,
		Current: c.Current.Center, ChangePct: c.ChangePct, P: *c.P, PAdjusted: c.PAdjusted}
}

func indexSeries(s []Series) map[Key][]float64 {
	m := make(map[Key][]float64, len(s))
	for _, x := range s {
		m[x.Key()] = append(m[x.Key()], x.Values...)
	}
	return m
}

func unionKeys(a, b map[Key][]float64) []Key {
	var keys []Key
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	return keys
}

func (p *Policy) compareOne(k Key, base, cur []float64) Comparison {
	th := &benchmath.Thresholds{CompareAlpha: p.alpha}
	c := Comparison{Package: k.Package, Name: k.Name, Unit: k.Unit}
	var bs, cs *benchmath.Sample
	if len(base) > 0 {
		bs = benchmath.NewSample(append([]float64(nil), base...), th)
		c.Baseline = summarize(bs, &c)
	}
	if len(cur) > 0 {
		cs = benchmath.NewSample(append([]float64(nil), cur...), th)
		c.Current = summarize(cs, &c)
	}
	switch {
	case bs == nil:
		c.Verdict = VerdictAdded
		return c
	case cs == nil:
		c.Verdict = VerdictRemoved
		return c
	}
	cmp := benchmath.AssumeNothing.Compare(bs, cs)
	c.P = &cmp.P
	c.Warnings = appendWarnings(c.Warnings, cmp.Warnings)
	c.ChangePct = changePct(c.Baseline.Center, c.Current.Center)
	return c // the verdict waits for the correction, which needs every p-value
}

// correct applies the policy's correction to the family of comparisons that can fail the
// gate (a gated unit, both sides present), setting their PAdjusted, and returns the
// family's size. Holm's adjusted p-values: sorted ascending, the i-th (from 0) of m is
// max over j <= i of min(1, (m-j) * p_j); comparing them with alpha is Holm's step-down
// test. The sort is stable over the canonical order, so ties are adjusted deterministically.
func (p *Policy) correct(cs []Comparison) int {
	var family []int
	for i, c := range cs {
		if _, gated := p.thresholds[c.Unit]; gated && c.P != nil {
			family = append(family, i)
		}
	}
	if p.correction != CorrectionHolm {
		return len(family)
	}
	sort.SliceStable(family, func(a, b int) bool { return *cs[family[a]].P < *cs[family[b]].P })
	m, running := len(family), 0.0
	for rank, i := range family {
		running = math.Max(running, math.Min(1, float64(m-rank)**cs[i].P))
		adj := running
		cs[i].PAdjusted = &adj
	}
	return m
}

func summarize(s *benchmath.Sample, c *Comparison) *Summary {
	sum := benchmath.AssumeNothing.Summary(s, Confidence)
	c.Warnings = appendWarnings(c.Warnings, sum.Warnings)
	out := &Summary{Center: sum.Center, Confidence: sum.Confidence, N: len(s.Values)}
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		lo, hi := sum.Lo, sum.Hi
		out.Lo, out.Hi = &lo, &hi
	}
	return out
}

// appendWarnings keeps benchmath's warnings, once each. "all samples are equal" is dropped:
// it is the normal state of B/op and allocs/op, not something to warn about.
func appendWarnings(dst []string, ws []error) []string {
	for _, w := range ws {
		msg := w.Error()
		if strings.Contains(msg, "all samples are equal") || contains(dst, msg) {
			continue
		}
		dst = append(dst, msg)
	}
	return dst
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func changePct(base, cur float64) *float64 {
	var pct float64
	switch {
	case base == cur:
		pct = 0
	case base == 0:
		return nil
	default:
		pct = (cur/base - 1) * 100
	}
	return &pct
}

// verdict applies the policy. A change is significant when its p-value (corrected, when it
// is in the gate's family) is below alpha; only then does its direction and size matter.
func (p *Policy) verdict(c *Comparison) Verdict {
	unit, base, cur := c.Unit, c.Baseline.Center, c.Current.Center
	pv := *c.P
	if c.PAdjusted != nil {
		pv = *c.PAdjusted
	}
	if !(pv < p.alpha) || base == cur {
		return VerdictSame
	}
	dir := direction(unit)
	pct, gated := p.thresholds[unit]
	if dir == 0 && !gated {
		return VerdictChanged
	}
	worse := cur - base // how much worse, in the unit; higher is worse unless dir says otherwise
	if dir > 0 {
		worse = base - cur
	}
	switch {
	case worse < 0:
		return VerdictBetter
	case gated && worse > math.Abs(base)*pct/100:
		return VerdictRegression
	default:
		return VerdictWorse
	}
}

// direction is +1 when higher is better (rates: B/s, ops/s), -1 when lower is better (costs
// per operation: sec/op, B/op, allocs/op, custom x/op), 0 when unknown. A gated unit of
// unknown direction is treated as lower-is-better.
func direction(unit string) int {
	switch {
	case strings.HasSuffix(unit, "/s"):
		return 1
	case strings.HasSuffix(unit, "/op"):
		return -1
	}
	return 0
}

// allowedBy returns the allowance that accepts a regression of the benchmark name, or "".
func (p *Policy) allowedBy(name string) string {
	base := trimProcs(name)
	for _, a := range p.allow {
		want := strings.TrimPrefix(a, "Benchmark")
		for _, n := range []string{name, base} {
			if n == want || strings.HasPrefix(n, want+"/") {
				return a
			}
		}
	}
	return ""
}

// trimProcs drops a trailing -N GOMAXPROCS suffix.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 || strings.Trim(name[i+1:], "0123456789") != "" {
		return name
	}
	return name[:i]
}

// formatChange formats a change in percent; from a zero baseline it is infinite.
func formatChange(pct *float64, base, cur float64) string {
	switch {
	case pct != nil:
		return fmt.Sprintf("%+.2f%%", *pct)
	case cur > base:
		return "+∞%"
	default:
		return "-∞%"
	}
}

func (c *Comparison) validate() error {
	if c.Name == "" || c.Unit == "" {
		return errors.New("empty name or unit")
	}
	if !verdicts[c.Verdict] {
		return fmt.Errorf("verdict: unknown %q", c.Verdict)
	}
	if (c.Baseline == nil) != (c.Verdict == VerdictAdded) || (c.Current == nil) != (c.Verdict == VerdictRemoved) {
		return fmt.Errorf("verdict %q does not match the summaries present", c.Verdict)
	}
	if (c.P == nil) != (c.Baseline == nil || c.Current == nil) {
		return errors.New("p: present exactly when both sides are")
	}
	if c.PAdjusted != nil && (c.P == nil || *c.PAdjusted < *c.P) {
		return errors.New("pAdjusted: without p, or below it")
	}
	return nil
}

func (g *Gate) validate() error {
	switch g.Status {
	case GatePassed:
		if len(g.Regressions) > 0 {
			return fmt.Errorf("%w: gate: passed with %d regressions", ErrReport, len(g.Regressions))
		}
	case GateFailed:
		if len(g.Regressions) == 0 {
			return fmt.Errorf("%w: gate: failed without a regression", ErrReport)
		}
	case GateSkipped:
	default:
		return fmt.Errorf("%w: gate.status: unknown %q", ErrReport, g.Status)
	}
	if !(g.Alpha > 0 && g.Alpha < 1) {
		return fmt.Errorf("%w: gate.alpha: %v is not in (0, 1)", ErrReport, g.Alpha)
	}
	switch g.Correction {
	case "", CorrectionNone, CorrectionHolm:
	default:
		return fmt.Errorf("%w: gate.correction: unknown %q", ErrReport, g.Correction)
	}
	return nil
}
