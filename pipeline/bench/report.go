package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Schema identifies version 1 of bench.json. A report with another schema is refused.
const Schema = "https://reliquary.dev/bench/v1"

// MaxReportSize bounds bench.json when it is read back.
const MaxReportSize = 64 << 20

// ErrReport is the root of every bench.json decoding and validation error.
var ErrReport = errors.New("invalid bench.json")

// Report is bench.json: what ran, where, every sample, the comparison and the gate.
type Report struct {
	Schema      string       `json:"schema"`
	Machine     Machine      `json:"machine"`
	Config      Config       `json:"config"`
	Current     Side         `json:"current"`
	Baseline    *Side        `json:"baseline,omitempty"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
	Gate        Gate         `json:"gate"`
}

// Machine describes where the samples were taken, for trend-keeping across releases.
type Machine struct {
	CPU       string `json:"cpu"`       // model name from /proc/cpuinfo, else `go test`'s cpu line
	Cores     int    `json:"cores"`     // logical CPUs usable by the process
	GOOS      string `json:"goos"`      // of the toolchain that built the benchmarks
	GOARCH    string `json:"goarch"`    //
	GoVersion string `json:"goVersion"` // the toolchain that built both sides
}

// Config records what was run.
type Config struct {
	Packages  []string        `json:"packages"`
	Bench     string          `json:"bench"`
	Count     int             `json:"count"`
	BenchTime string          `json:"benchtime,omitempty"`
	CPU       string          `json:"cpu,omitempty"`
	Commands  []CommandConfig `json:"commands,omitempty"`
}

// CommandConfig records a command benchmark.
type CommandConfig struct {
	Name    string   `json:"name"`
	Package string   `json:"package"`
	Args    []string `json:"args,omitempty"`
	Ready   string   `json:"ready,omitempty"`
}

// Side is one side of the comparison: a source tree and every sample taken from it.
type Side struct {
	Ref    string   `json:"ref,omitempty"`    // the ref the baseline was named by; "" for the current tree
	Commit string   `json:"commit,omitempty"` // "" when the source is not a git checkout
	Dirty  bool     `json:"dirty,omitempty"`  // the current tree had uncommitted changes
	Series []Series `json:"series"`
}

// Series is every sample of one benchmark in one unit, in the order they were taken.
type Series struct {
	Package string    `json:"package"` // import path, or CommandPackage+package for commands
	Name    string    `json:"name"`    // without "Benchmark", as benchstat shows it
	Unit    string    `json:"unit"`
	Values  []float64 `json:"values"`
}

// Key identifies a series across sides.
type Key struct {
	Package, Name, Unit string
}

// Key returns the series' key.
func (s Series) Key() Key { return Key{s.Package, s.Name, s.Unit} }

// String is "package.Name unit", for messages.
func (k Key) String() string {
	if k.Package == "" {
		return k.Name + " " + k.Unit
	}
	return k.Package + "." + k.Name + " " + k.Unit
}

// less orders keys by package, name, then unit with sec/op, B/op, allocs/op first, as
// benchstat does; every list in bench.json is in this order.
func (k Key) less(o Key) bool {
	if k.Package != o.Package {
		return k.Package < o.Package
	}
	if k.Name != o.Name {
		return k.Name < o.Name
	}
	return unitLess(k.Unit, o.Unit)
}

func unitLess(a, b string) bool {
	ra, rb := unitRank(a), unitRank(b)
	if ra != rb {
		return ra < rb
	}
	return a < b
}

func unitRank(u string) int {
	switch u {
	case "sec/op":
		return 0
	case "B/op":
		return 1
	case "allocs/op":
		return 2
	}
	return 3
}

// seriesOf groups results into series, one per package, name and unit, keeping every
// sample in the order read, and sorts them.
func seriesOf(results []Result) []Series {
	idx := map[Key]int{}
	var out []Series
	for _, r := range results {
		for _, v := range r.Values {
			k := Key{r.Package, r.Name, v.Unit}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, Series{Package: k.Package, Name: k.Name, Unit: k.Unit})
			}
			out[i].Values = append(out[i].Values, v.Value)
		}
	}
	sortSeries(out)
	return out
}

func sortSeries(s []Series) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Key().less(s[j].Key()) })
}

// Marshal encodes the report as bench.json: indented, lists in canonical order, ending in a
// newline. Equal reports give equal bytes.
func (r *Report) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: encode bench.json: %w", err)
	}
	return append(data, '\n'), nil
}

// Load decodes and validates bench.json. Unknown fields, trailing data, a foreign schema,
// lists out of canonical order and non-finite numbers are refused.
func Load(data []byte) (*Report, error) {
	if len(data) > MaxReportSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrReport, len(data), MaxReportSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReport, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the report", ErrReport)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate checks the report's structure; errors name the field.
func (r *Report) Validate() error {
	if r.Schema != Schema {
		return fmt.Errorf("%w: schema: want %q, got %q", ErrReport, Schema, r.Schema)
	}
	if r.Config.Count < 1 {
		return fmt.Errorf("%w: config.count: %d is not positive", ErrReport, r.Config.Count)
	}
	if err := r.Current.validate("current"); err != nil {
		return err
	}
	if r.Baseline != nil {
		if err := r.Baseline.validate("baseline"); err != nil {
			return err
		}
	} else if len(r.Comparisons) > 0 {
		return fmt.Errorf("%w: comparisons: present without a baseline", ErrReport)
	}
	for i := range r.Comparisons {
		if err := r.Comparisons[i].validate(); err != nil {
			return fmt.Errorf("%w: comparisons[%d]: %v", ErrReport, i, err)
		}
		if i > 0 && !r.Comparisons[i-1].Key().less(r.Comparisons[i].Key()) {
			return fmt.Errorf("%w: comparisons[%d]: %s out of order or repeated", ErrReport, i, r.Comparisons[i].Key())
		}
	}
	return r.Gate.validate()
}

func (s *Side) validate(field string) error {
	if s.Commit != "" && !isHex(s.Commit) {
		return fmt.Errorf("%w: %s.commit: %q is not a hex commit id", ErrReport, field, s.Commit)
	}
	for i, ser := range s.Series {
		switch {
		case ser.Name == "" || ser.Unit == "":
			return fmt.Errorf("%w: %s.series[%d]: empty name or unit", ErrReport, field, i)
		case len(ser.Values) == 0:
			return fmt.Errorf("%w: %s.series[%d] (%s): no values", ErrReport, field, i, ser.Key())
		case i > 0 && !s.Series[i-1].Key().less(ser.Key()):
			return fmt.Errorf("%w: %s.series[%d]: %s out of order or repeated", ErrReport, field, i, ser.Key())
		}
		for _, v := range ser.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: %s.series[%d] (%s): value %v is not finite", ErrReport, field, i, ser.Key(), v)
			}
		}
	}
	return nil
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// ErrRecheck is the root of the error Recheck returns.
var ErrRecheck = errors.New("bench.json verdicts do not follow from its samples")

// Recheck recomputes the comparison and the gate from the report's own samples under its
// recorded policy and fails if a verdict or the gate's outcome differs, so a verdict edited
// by hand before signing is caught. Floating-point details (p-values, intervals) are not
// compared: another CPU may round their last bits differently.
func (r *Report) Recheck() error {
	if r.Baseline == nil {
		if r.Gate.Status != GateSkipped {
			return fmt.Errorf("%w: gate %s without a baseline", ErrRecheck, r.Gate.Status)
		}
		return nil
	}
	correction := r.Gate.Correction
	if correction == "" { // written before corrections existed
		correction = CorrectionNone
	}
	opts := []Option{WithAlpha(r.Gate.Alpha), WithCorrection(correction), WithAllowRegression(r.Gate.AllowRegression...)}
	for _, t := range DefaultThresholds() {
		opts = append(opts, WithoutThreshold(t.Unit))
	}
	for _, t := range r.Gate.Thresholds {
		opts = append(opts, WithThreshold(t.Unit, t.Pct))
	}
	p, err := NewPolicy(opts...)
	if err != nil {
		return fmt.Errorf("%w: recorded policy: %v", ErrRecheck, err)
	}
	comps, gate := p.Compare(r.Baseline.Series, r.Current.Series)
	if len(comps) != len(r.Comparisons) {
		return fmt.Errorf("%w: %d comparisons recorded, %d recomputed", ErrRecheck, len(r.Comparisons), len(comps))
	}
	for i, c := range comps {
		got := r.Comparisons[i]
		if got.Key() != c.Key() || got.Verdict != c.Verdict {
			return fmt.Errorf("%w: %s recorded as %q, recomputed %s as %q", ErrRecheck, got.Key(), got.Verdict, c.Key(), c.Verdict)
		}
	}
	if gate.Status != r.Gate.Status || !sameKeys(gate.Regressions, r.Gate.Regressions) ||
		!sameKeys(gate.Allowed, r.Gate.Allowed) || strings.Join(gate.UnusedAllows, "\n") != strings.Join(r.Gate.UnusedAllows, "\n") {
		return fmt.Errorf("%w: gate recorded as %s, recomputed as %s", ErrRecheck, r.Gate.Status, gate.Status)
	}
	return nil
}

func sameKeys(a, b []Finding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key() != b[i].Key() {
			return false
		}
	}
	return true
}
