package bench_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// suite is one run of a suite of n benchmarks in sec/op, 10 samples per side, all drawn from
// the same noisy distribution (±30%) except those named in slower, which take 3x as long on
// the current side.
func suite(r *rand.Rand, n int, slower map[int]bool) (base, cur []bench.Series) {
	draw := func(scale float64) []float64 {
		v := make([]float64, 10)
		for i := range v {
			v[i] = scale * 1e-6 * (1 + 0.3*(r.Float64()*2-1))
		}
		return v
	}
	for i := range n {
		name := fmt.Sprintf("B%02d-2", i)
		scale := 1.0
		if slower[i] {
			scale = 3
		}
		base = append(base, series(name, "sec/op", draw(1)))
		cur = append(cur, series(name, "sec/op", draw(scale)))
	}
	return base, cur
}

// TestHolmKeepsFamilyWiseFalseAlarms compares identical code many times over: with Holm's
// correction at most about alpha of the runs fail the gate; tested one by one (the gate
// before the correction), most runs of a 40-benchmark suite would fail somewhere.
func TestHolmKeepsFamilyWiseFalseAlarms(t *testing.T) {
	const trials, benchmarks, alpha = 200, 40, 0.05
	rate := func(correction string) float64 {
		p, err := bench.NewPolicy(bench.WithCorrection(correction))
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(1))
		failed := 0
		for range trials {
			comps, gate := p.Compare(suite(r, benchmarks, nil))
			if gate.Family != benchmarks || len(comps) != benchmarks {
				t.Fatalf("family %d of %d comparisons, want %d", gate.Family, len(comps), benchmarks)
			}
			if gate.Status == bench.GateFailed {
				failed++
			}
		}
		return float64(failed) / trials
	}
	holm, none := rate(bench.CorrectionHolm), rate(bench.CorrectionNone)
	t.Logf("identical code fails the gate in %.1f%% of runs with Holm's correction, %.1f%% without", 100*holm, 100*none)
	if holm > alpha+0.02 {
		t.Errorf("with Holm's correction %.3f of identical runs fail, want <= %v", holm, alpha)
	}
	if none < 0.3 {
		t.Errorf("without a correction only %.3f of identical runs fail: the simulation cannot tell the correction works", none)
	}
}

// TestHolmStillCatchesRegressions: one benchmark of 40 three times slower, or three of them,
// fail the gate, and only those.
func TestHolmStillCatchesRegressions(t *testing.T) {
	p, err := bench.NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	for _, slower := range []map[int]bool{{7: true}, {0: true, 20: true, 39: true}} {
		r := rand.New(rand.NewSource(2))
		comps, gate := p.Compare(suite(r, 40, slower))
		if gate.Status != bench.GateFailed || gate.Correction != bench.CorrectionHolm || len(gate.Regressions) != len(slower) {
			t.Fatalf("%d slower: gate %s (%s), regressions %v", len(slower), gate.Status, gate.Correction, gate.Regressions)
		}
		for i, c := range comps {
			if slower[i] != (c.Verdict == bench.VerdictRegression) || c.PAdjusted == nil || *c.PAdjusted < *c.P {
				t.Errorf("%s: verdict %s, p %v adjusted %v", c.Name, c.Verdict, *c.P, c.PAdjusted)
			}
		}
	}
}

// TestHolmAdjustedPValues checks the step-down arithmetic on a small family, and that only
// gated units are in it.
func TestHolmAdjustedPValues(t *testing.T) {
	p, _ := bench.NewPolicy()
	base := []bench.Series{
		series("A", "sec/op", sample(1, 10, 1e-6, 0.01)), series("B", "sec/op", sample(3, 10, 1e-6, 0.3)),
		series("A", "B/op", constant(10, 1)),
	}
	cur := []bench.Series{
		series("A", "sec/op", sample(2, 10, 3e-6, 0.01)), series("B", "sec/op", sample(4, 10, 1e-6, 0.3)),
		series("A", "B/op", constant(10, 2)),
	}
	comps, gate := p.Compare(base, cur)
	if gate.Family != 2 {
		t.Fatalf("family %d, want the 2 sec/op comparisons", gate.Family)
	}
	byKey := map[string]bench.Comparison{}
	for _, c := range comps {
		byKey[c.Name+" "+c.Unit] = c
	}
	a, b, bytes := byKey["A sec/op"], byKey["B sec/op"], byKey["A B/op"]
	if bytes.PAdjusted != nil || bytes.Verdict != bench.VerdictWorse {
		t.Errorf("ungated B/op: adjusted %v, verdict %s", bytes.PAdjusted, bytes.Verdict)
	}
	if a.PAdjusted == nil || b.PAdjusted == nil {
		t.Fatalf("sec/op comparisons without an adjusted p: %+v %+v", a, b)
	}
	wantA := min(1, 2**a.P)
	wantB := max(wantA, *b.P)
	if *a.PAdjusted != wantA || *b.PAdjusted != wantB || a.Verdict != bench.VerdictRegression {
		t.Errorf("adjusted p: A %v (want %v, %s), B %v (want %v)", *a.PAdjusted, wantA, a.Verdict, *b.PAdjusted, wantB)
	}
	if _, err := bench.NewPolicy(bench.WithCorrection("bonferroni")); err == nil {
		t.Error("an unknown correction is accepted")
	}
}
