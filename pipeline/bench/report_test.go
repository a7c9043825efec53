package bench_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

const (
	commitA = "1111111111111111111111111111111111111111"
	commitB = "2222222222222222222222222222222222222222"
)

// fixture is a report as Run would assemble it: Work got 3x slower and allocates, Sizes is
// unchanged, Gone was removed, Fresh was added.
func fixture(t testing.TB, opts ...bench.Option) *bench.Report {
	t.Helper()
	p, err := bench.NewPolicy(opts...)
	if err != nil {
		t.Fatal(err)
	}
	base := []bench.Series{
		series("Gone-2", "sec/op", sample(20, 6, 5e-3, 0.01)),
		series("Sizes/size=64-2", "sec/op", sample(21, 6, 70e-9, 0.2)),
		series("Sizes/size=64-2", "B/op", constant(6, 0)),
		series("Sizes/size=64-2", "allocs/op", constant(6, 0)),
		series("Work-2", "sec/op", sample(22, 6, 20e-6, 0.02)),
		series("Work-2", "B/op", constant(6, 0)),
		series("Work-2", "allocs/op", constant(6, 0)),
		series("Work-2", "B/s", sample(23, 6, 800e6, 0.02)),
	}
	cur := []bench.Series{
		series("Fresh-2", "sec/op", sample(24, 6, 1e-3, 0.01)),
		series("Sizes/size=64-2", "sec/op", sample(25, 6, 70e-9, 0.2)),
		series("Sizes/size=64-2", "B/op", constant(6, 0)),
		series("Sizes/size=64-2", "allocs/op", constant(6, 0)),
		series("Work-2", "sec/op", sample(26, 6, 60e-6, 0.02)),
		series("Work-2", "B/op", constant(6, 64)),
		series("Work-2", "allocs/op", constant(6, 1)),
		series("Work-2", "B/s", sample(27, 6, 267e6, 0.02)),
	}
	r := &bench.Report{
		Schema:   bench.Schema,
		Machine:  bench.Machine{CPU: "Test CPU @ 3.00GHz", Cores: 2, GOOS: "linux", GOARCH: "amd64", GoVersion: "go1.26.1"},
		Config:   bench.Config{Packages: []string{"./..."}, Bench: ".", Count: 6, BenchTime: "100x"},
		Current:  bench.Side{Commit: commitB, Series: cur},
		Baseline: &bench.Side{Ref: "v0.9.0", Commit: commitA, Series: base},
	}
	r.Comparisons, r.Gate = p.Compare(base, cur)
	return r
}

func TestReportRoundTrip(t *testing.T) {
	r := fixture(t)
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Marshal()
	if err != nil || !bytes.Equal(data, again) {
		t.Fatal("Marshal is not deterministic")
	}
	back, err := bench.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Fatalf("round trip changed the report")
	}
	if err := back.Recheck(); err != nil {
		t.Fatal(err)
	}
	if back.Gate.Status != bench.GateFailed || len(back.Gate.Regressions) != 2 {
		t.Fatalf("gate %+v", back.Gate)
	}
}

// edit decodes bench.json into generic JSON, lets f change it, and encodes it again.
func edit(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadRefuses(t *testing.T) {
	good, err := fixture(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	side := func(m map[string]any, name string) map[string]any { return m[name].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown field", edit(t, good, func(m map[string]any) { m["extra"] = 1 }), "unknown field"},
		{"trailing data", append(append([]byte{}, good...), []byte("{}")...), "after the report"},
		{"other schema", edit(t, good, func(m map[string]any) { m["schema"] = "https://example.com/v2" }), "schema"},
		{"zero count", edit(t, good, func(m map[string]any) { side(m, "config")["count"] = 0 }), "config.count"},
		{"bad commit", edit(t, good, func(m map[string]any) { side(m, "current")["commit"] = "HEAD" }), "current.commit"},
		{"series out of order", edit(t, good, func(m map[string]any) {
			s := side(m, "current")["series"].([]any)
			s[0], s[1] = s[1], s[0]
		}), "out of order"},
		{"empty series", edit(t, good, func(m map[string]any) {
			side(m, "baseline")["series"].([]any)[0].(map[string]any)["values"] = []any{}
		}), "no values"},
		{"comparisons without baseline", edit(t, good, func(m map[string]any) { delete(m, "baseline") }), "without a baseline"},
		{"unknown verdict", edit(t, good, func(m map[string]any) {
			m["comparisons"].([]any)[0].(map[string]any)["verdict"] = "fine"
		}), "unknown"},
		{"passed with regressions", edit(t, good, func(m map[string]any) { side(m, "gate")["status"] = "passed" }), "passed with"},
		{"unknown status", edit(t, good, func(m map[string]any) { side(m, "gate")["status"] = "ok" }), "gate.status"},
		{"not JSON", []byte("{"), "invalid bench.json"},
		{"too big", make([]byte, bench.MaxReportSize+1), "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.Load(tc.data)
			if !errors.Is(err, bench.ErrReport) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrReport mentioning %q", err, tc.want)
			}
		})
	}
}

// A verdict edited by hand (and the gate with it) no longer follows from the samples.
func TestRecheckCatchesEditedVerdicts(t *testing.T) {
	r := fixture(t)
	for i := range r.Comparisons {
		if r.Comparisons[i].Verdict == bench.VerdictRegression {
			r.Comparisons[i].Verdict = bench.VerdictSame
		}
	}
	r.Gate.Status, r.Gate.Regressions = bench.GatePassed, nil
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := bench.Load(data)
	if err != nil {
		t.Fatal(err) // structurally fine
	}
	if err := back.Recheck(); !errors.Is(err, bench.ErrRecheck) || !strings.Contains(err.Error(), "Work-2") {
		t.Fatalf("Recheck = %v, want ErrRecheck naming Work-2", err)
	}
	// Samples edited to make the regression vanish are caught the same way.
	r = fixture(t)
	r.Current.Series = r.Baseline.Series[1:]
	r.Current.Series = append(r.Current.Series, series("Fresh-2", "sec/op", constant(3, 1)))
	if err := r.Recheck(); !errors.Is(err, bench.ErrRecheck) {
		t.Fatalf("Recheck after editing samples = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	good, err := fixture(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema":"https://reliquary.dev/bench/v1","machine":{"cpu":"","cores":0,"goos":"","goarch":"","goVersion":""},"config":{"packages":null,"bench":"","count":1},"current":{"series":null},"gate":{"status":"skipped","alpha":0.05,"thresholds":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bench.Load(data)
		if err != nil {
			if !errors.Is(err, bench.ErrReport) {
				t.Fatalf("error not ErrReport: %v", err)
			}
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("a loaded report does not marshal: %v", err)
		}
		back, err := bench.Load(out)
		if err != nil || !reflect.DeepEqual(r, back) {
			t.Fatalf("re-load: %v", err)
		}
		_ = r.Recheck()
		_ = bench.Text(r)
		_ = bench.Markdown(r)
	})
}
