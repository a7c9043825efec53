package bench_test

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// sample returns n values around center with a relative spread of noise, from a fixed seed.
func sample(seed int64, n int, center, noise float64) []float64 {
	r := rand.New(rand.NewSource(seed))
	v := make([]float64, n)
	for i := range v {
		v[i] = center * (1 + noise*(r.Float64()*2-1))
	}
	return v
}

func constant(n int, x float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

func series(name, unit string, values []float64) bench.Series {
	return bench.Series{Package: "example.com/p", Name: name, Unit: unit, Values: values}
}

func TestCompareVerdicts(t *testing.T) {
	tests := []struct {
		name      string
		unit      string
		base, cur []float64
		opts      []bench.Option
		want      bench.Verdict
	}{
		{"3x slower", "sec/op", sample(1, 10, 1e-6, 0.02), sample(2, 10, 3e-6, 0.02), nil, bench.VerdictRegression},
		{"3% slower is within 5%", "sec/op", sample(3, 10, 1e-6, 0.005), sample(4, 10, 1.03e-6, 0.005), nil, bench.VerdictWorse},
		{"3% slower beyond a 2% threshold", "sec/op", sample(3, 10, 1e-6, 0.005), sample(4, 10, 1.03e-6, 0.005), []bench.Option{bench.WithThreshold("sec/op", 2)}, bench.VerdictRegression},
		{"sec/op ungated", "sec/op", sample(1, 10, 1e-6, 0.02), sample(2, 10, 3e-6, 0.02), []bench.Option{bench.WithoutThreshold("sec/op")}, bench.VerdictWorse},
		{"faster", "sec/op", sample(5, 10, 2e-6, 0.02), sample(6, 10, 1e-6, 0.02), nil, bench.VerdictBetter},
		{"same distribution", "sec/op", sample(7, 10, 1e-6, 0.3), sample(8, 10, 1e-6, 0.3), nil, bench.VerdictSame},
		{"too few samples to tell", "sec/op", sample(1, 3, 1e-6, 0.01), sample(2, 3, 3e-6, 0.01), nil, bench.VerdictSame},
		{"one more allocation", "allocs/op", constant(6, 1), constant(6, 2), nil, bench.VerdictRegression},
		{"first allocation", "allocs/op", constant(6, 0), constant(6, 1), nil, bench.VerdictRegression},
		{"fewer allocations", "allocs/op", constant(6, 2), constant(6, 1), nil, bench.VerdictBetter},
		{"equal allocations", "allocs/op", constant(6, 1), constant(6, 1), nil, bench.VerdictSame},
		{"more bytes is ungated", "B/op", constant(6, 100), constant(6, 200), nil, bench.VerdictWorse},
		{"lower throughput", "B/s", sample(9, 8, 1e9, 0.01), sample(10, 8, 0.5e9, 0.01), nil, bench.VerdictWorse},
		{"lower throughput gated", "B/s", sample(9, 8, 1e9, 0.01), sample(10, 8, 0.5e9, 0.01), []bench.Option{bench.WithThreshold("B/s", 5)}, bench.VerdictRegression},
		{"higher throughput", "B/s", sample(9, 8, 1e9, 0.01), sample(10, 8, 2e9, 0.01), nil, bench.VerdictBetter},
		{"unknown direction", "widgets", constant(6, 1), constant(6, 5), nil, bench.VerdictChanged},
		{"unknown direction gated is lower-better", "widgets", constant(6, 1), constant(6, 5), []bench.Option{bench.WithThreshold("widgets", 10)}, bench.VerdictRegression},
		{"strict alpha hides n=4", "sec/op", sample(1, 4, 1e-6, 0.01), sample(2, 4, 3e-6, 0.01), []bench.Option{bench.WithAlpha(0.01)}, bench.VerdictSame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := bench.NewPolicy(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			comps, gate := p.Compare([]bench.Series{series("X", tc.unit, tc.base)}, []bench.Series{series("X", tc.unit, tc.cur)})
			if len(comps) != 1 {
				t.Fatalf("%d comparisons", len(comps))
			}
			c := comps[0]
			if c.Verdict != tc.want {
				t.Fatalf("verdict %q, want %q (p=%v change=%v warnings=%v)", c.Verdict, tc.want, *c.P, c.ChangePct, c.Warnings)
			}
			if c.Baseline.N != len(tc.base) || c.Current.N != len(tc.cur) {
				t.Errorf("n = %d+%d", c.Baseline.N, c.Current.N)
			}
			wantFail := tc.want == bench.VerdictRegression
			if (gate.Status == bench.GateFailed) != wantFail || (gate.Err() != nil) != wantFail {
				t.Errorf("gate %s, err %v", gate.Status, gate.Err())
			}
			if tc.want == bench.VerdictSame && *c.P < gate.Alpha && c.Baseline.Center != c.Current.Center {
				t.Errorf("~ with p=%v", *c.P)
			}
			if tc.want == bench.VerdictRegression && !(*c.P < gate.Alpha) {
				t.Errorf("regression with p=%v", *c.P)
			}
		})
	}
}

func TestCompareNumbers(t *testing.T) {
	p, _ := bench.NewPolicy()
	base := []float64{10, 11, 9, 10, 10, 12, 8, 10}
	cur := []float64{30, 33, 27, 30, 30, 36, 24, 30}
	comps, gate := p.Compare([]bench.Series{series("X", "sec/op", base)}, []bench.Series{series("X", "sec/op", cur)})
	c := comps[0]
	if c.Baseline.Center != 10 || c.Current.Center != 30 {
		t.Errorf("medians %v, %v; want 10, 30", c.Baseline.Center, c.Current.Center)
	}
	if c.ChangePct == nil || math.Abs(*c.ChangePct-200) > 1e-9 {
		t.Errorf("change %v, want +200%%", c.ChangePct)
	}
	if c.Baseline.Lo == nil || !(*c.Baseline.Lo <= 10 && *c.Baseline.Hi >= 10) || c.Baseline.Confidence < bench.Confidence {
		t.Errorf("baseline interval %+v", c.Baseline)
	}
	// Disjoint samples of 8: the exact two-sided p is 2/C(16,8) = 0.000155; benchmath's
	// tie-corrected normal approximation gives about 0.001.
	if !(*c.P < 0.002) {
		t.Errorf("p = %v", *c.P)
	}
	if len(gate.Regressions) != 1 || gate.Regressions[0].Name != "X" || !strings.Contains(gate.Err().Error(), "example.com/p.X sec/op +200.00%") {
		t.Errorf("gate %+v, err %v", gate, gate.Err())
	}
	if !errors.Is(gate.Err(), bench.ErrRegression) {
		t.Error("gate error is not ErrRegression")
	}
}

func TestCompareAddedRemoved(t *testing.T) {
	p, _ := bench.NewPolicy()
	comps, gate := p.Compare(
		[]bench.Series{series("Old", "sec/op", constant(5, 1))},
		[]bench.Series{series("New", "sec/op", constant(5, 1))})
	if len(comps) != 2 || comps[0].Name != "New" || comps[0].Verdict != bench.VerdictAdded || comps[1].Verdict != bench.VerdictRemoved {
		t.Fatalf("comparisons %+v", comps)
	}
	if comps[0].Baseline != nil || comps[1].Current != nil || comps[0].P != nil {
		t.Errorf("one-sided comparison has a summary or p: %+v", comps)
	}
	if gate.Status != bench.GatePassed {
		t.Errorf("gate %s", gate.Status)
	}
}

func TestAllowRegression(t *testing.T) {
	slowBase, slowCur := sample(1, 8, 1e-6, 0.01), sample(2, 8, 3e-6, 0.01)
	base := []bench.Series{series("Work-2", "sec/op", slowBase), series("Sizes/n=64-2", "sec/op", slowBase), series("Other-2", "sec/op", slowBase)}
	cur := []bench.Series{series("Work-2", "sec/op", slowCur), series("Sizes/n=64-2", "sec/op", slowCur), series("Other-2", "sec/op", slowBase)}
	for _, allow := range [][]string{{"Work", "Sizes"}, {"BenchmarkWork-2", "Sizes/n=64"}, {"Work-2", "BenchmarkSizes"}} {
		p, err := bench.NewPolicy(bench.WithAllowRegression(allow...), bench.WithAllowRegression("Unrelated"))
		if err != nil {
			t.Fatal(err)
		}
		comps, gate := p.Compare(base, cur)
		if gate.Status != bench.GatePassed || len(gate.Allowed) != 2 || len(gate.Regressions) != 0 {
			t.Fatalf("allow %v: gate %+v", allow, gate)
		}
		for _, c := range comps {
			if want := map[string]bench.Verdict{"Other-2": bench.VerdictSame}[c.Name]; want != "" && c.Verdict != want || want == "" && c.Verdict != bench.VerdictAllowed {
				t.Errorf("allow %v: %s verdict %s", allow, c.Name, c.Verdict)
			}
		}
		if strings.Join(gate.UnusedAllows, ",") != "Unrelated" {
			t.Errorf("unused allowances %v", gate.UnusedAllows)
		}
		if len(gate.AllowRegression) != 3 {
			t.Errorf("recorded allowances %v", gate.AllowRegression)
		}
	}
	// A prefix that is not a whole name or a parent does not match.
	p, _ := bench.NewPolicy(bench.WithAllowRegression("Wor", "Size"))
	if _, gate := p.Compare(base, cur); gate.Status != bench.GateFailed || len(gate.Regressions) != 2 {
		t.Fatalf("partial names allowed a regression: %+v", gate)
	}
}

func TestPolicyOptionErrors(t *testing.T) {
	for name, opt := range map[string]bench.Option{
		"negative threshold": bench.WithThreshold("sec/op", -1),
		"NaN threshold":      bench.WithThreshold("sec/op", math.NaN()),
		"empty unit":         bench.WithThreshold("", 5),
		"alpha 0":            bench.WithAlpha(0),
		"alpha 1":            bench.WithAlpha(1),
		"empty allowance":    bench.WithAllowRegression(" "),
		"bare Benchmark":     bench.WithAllowRegression("Benchmark"),
	} {
		if _, err := bench.NewPolicy(opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMinCount(t *testing.T) {
	for alpha, want := range map[float64]int{0.05: 4, 0.01: 5, 0.001: 7, 0.2: 3} {
		if got := bench.MinCount(alpha); got != want {
			t.Errorf("MinCount(%v) = %d, want %d", alpha, got, want)
		}
	}
}
