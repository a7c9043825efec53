package bench_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// testdata/gotest-cpu.txt is real output of
//
//	go test -run='^$' -bench=. -benchmem -cpu=1,2 -benchtime=200x -count=2
//
// in testdata/benchproj: sub-benchmarks, a custom metric, MB/s and -N suffixes.
func TestParseRecordedOutput(t *testing.T) {
	f, err := os.Open("testdata/gotest-cpu.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := bench.Parse(f, "gotest-cpu.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 16 {
		t.Fatalf("got %d results, want 16", len(out.Results))
	}
	if out.CPU != "Oxide Virtual Turin-like Processor" {
		t.Errorf("CPU = %q", out.CPU)
	}
	wantNames := []string{"Alloc", "Alloc-2", "Sizes/size=1024", "Sizes/size=1024-2", "Sizes/size=64", "Sizes/size=64-2", "Work", "Work-2"}
	if got := names(out); strings.Join(got, " ") != strings.Join(wantNames, " ") {
		t.Errorf("names = %v, want %v", got, wantNames)
	}
	first := out.Results[0]
	if first.Package != "example.com/benchproj" || first.Name != "Work" || first.Iters != 200 {
		t.Errorf("first result = %+v", first)
	}
	// ns/op and MB/s are tidied to base units, as benchstat shows them.
	want := []bench.Value{{Value: 119690e-9, Unit: "sec/op"}, {Value: 136.89e6, Unit: "B/s"}, {Value: 0, Unit: "B/op"}, {Value: 0, Unit: "allocs/op"}}
	if fmt.Sprint(first.Values) != fmt.Sprint(want) {
		t.Errorf("first values = %v, want %v", first.Values, want)
	}
	alloc := find(t, out, "Alloc-2")
	if v := value(t, alloc, "widgets/op"); v != 42 {
		t.Errorf("Alloc-2 widgets/op = %v, want 42", v)
	}
	if v := value(t, alloc, "allocs/op"); v != 1 {
		t.Errorf("Alloc-2 allocs/op = %v, want 1", v)
	}
}

// TestParseLiveGoTest parses what this machine's `go test -bench` prints for the test
// project, so a change in the toolchain's output format is caught.
func TestParseLiveGoTest(t *testing.T) {
	cmd := exec.Command("go", "test", "-run=^$", "-bench=.", "-benchmem", "-cpu=1,2", "-benchtime=3x", "-count=1", ".")
	cmd.Dir = filepath.Join("testdata", "benchproj")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, raw)
	}
	out, err := bench.Parse(bytes.NewReader(raw), "live")
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	wantNames := []string{"Alloc", "Alloc-2", "Sizes/size=1024", "Sizes/size=1024-2", "Sizes/size=64", "Sizes/size=64-2", "Work", "Work-2"}
	if got := names(out); strings.Join(got, " ") != strings.Join(wantNames, " ") {
		t.Errorf("names = %v, want %v\n%s", got, wantNames, raw)
	}
	for _, r := range out.Results {
		if r.Package != "example.com/benchproj" || r.Iters != 3 {
			t.Errorf("%s: package %q iters %d", r.Name, r.Package, r.Iters)
		}
		if v := value(t, r, "sec/op"); !(v > 0) {
			t.Errorf("%s: sec/op = %v", r.Name, v)
		}
	}
	if v := value(t, find(t, out, "Alloc"), "widgets/op"); v != 42 {
		t.Errorf("Alloc widgets/op = %v, want 42", v)
	}
	if v := value(t, find(t, out, "Work-2"), "B/s"); !(v > 0) {
		t.Errorf("Work-2 B/s = %v", v)
	}
}

func TestParseMalformed(t *testing.T) {
	printed, err := os.ReadFile("testdata/malformed-print.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input, want string
	}{
		// Real output of a benchmark that prints to stdout while it runs.
		{"benchmark printing", string(printed), "src.txt:7: parsing iteration count"},
		{"no measurements", "BenchmarkX 10\n", "src.txt:1: missing measurements"},
		{"no unit", "goos: linux\nBenchmarkX 10 5\n", "src.txt:2: missing units"},
		{"bad number", "BenchmarkX 10 abc ns/op\n", "parsing measurement"},
		{"no iterations", "BenchmarkX-2\t\tns/op\n", "parsing iteration count"},
		{"NaN", "BenchmarkX 10 NaN ns/op\n", "not a finite number"},
		{"Inf", "BenchmarkX 10 5 ns/op +Inf widgets/op\n", "not a finite number"},
		{"unit twice", "BenchmarkX 10 5 ns/op 6 ns/op\n", "reported twice"},
		{"zero iterations", "BenchmarkX 0 5 ns/op\n", "not positive"},
		{"empty name", "Benchmark 10 5 ns/op\n", "empty name"},
		{"not UTF-8", "BenchmarkX\xff 10 5 ns/op\n", "not valid UTF-8"},
		{"line too long", "BenchmarkX 10 " + strings.Repeat("1", 70<<10) + " ns/op\n", "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.Parse(strings.NewReader(tc.input), "src.txt")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, bench.ErrMalformed) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "src.txt") {
				t.Errorf("error %q: want ErrMalformed naming src.txt and %q", err, tc.want)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	const limit = 1 << 20
	bench.SetMaxOutput(t, limit)
	big := io.LimitReader(repeatReader('\n'), limit+1)
	_, err := bench.Parse(big, "huge.txt")
	if !errors.Is(err, bench.ErrMalformed) || !strings.Contains(err.Error(), "huge.txt") || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("error = %v, want a size-limit error naming huge.txt", err)
	}
	// Exactly at the limit is fine.
	line := strings.Repeat(" ", 1023) + "\n"
	at := strings.Repeat(line, limit/len(line))
	out, err := bench.Parse(strings.NewReader(at), "max.txt")
	if err != nil || len(out.Results) != 0 {
		t.Fatalf("at the limit: %v, %d results", err, len(out.Results))
	}
}

func TestParseIgnoresOtherLines(t *testing.T) {
	in := "=== RUN   TestX\n--- PASS: TestX (0.00s)\nBenchmarkX\nBenchmarkX-2 \t 10\t 5 ns/op\nPASS\nok  \tpkg\t0.1s\n"
	out, err := bench.Parse(strings.NewReader(in), "v.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 || out.Results[0].Name != "X-2" || out.Results[0].Values[0].Value != 5e-9 {
		t.Fatalf("results = %+v", out.Results)
	}
}

// FuzzParse: no input panics, and whatever parses is finite, named, and survives being
// written back in the benchmark format and parsed again.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/gotest-cpu.txt", "testdata/malformed-print.txt"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("pkg: a/b\nBenchmarkX/k=v-4 100 1.5 ns/op 3 MB/s 7 B/op 1 allocs/op 2 widgets/op\n"))
	f.Add([]byte("Unit ns/op assume=exact\nBenchmarkY 1 2 ns/op\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := bench.Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			if !errors.Is(err, bench.ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, r := range out.Results {
			if r.Name == "" || !utf8.ValidString(r.Name) || r.Iters <= 0 {
				t.Fatalf("bad result %+v", r)
			}
			fmt.Fprintf(&b, "Benchmark%s %d", r.Name, r.Iters)
			for _, v := range r.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					t.Fatalf("non-finite value in %+v", r)
				}
				fmt.Fprintf(&b, " %s %s", strconv.FormatFloat(v.Value, 'g', -1, 64), v.Unit)
			}
			b.WriteString("\n")
		}
		again, err := bench.Parse(strings.NewReader(b.String()), "again")
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b.String())
		}
		if len(again.Results) != len(out.Results) {
			t.Fatalf("re-parse: %d results, want %d", len(again.Results), len(out.Results))
		}
		for i := range again.Results {
			a, o := again.Results[i], out.Results[i]
			if a.Name != o.Name || a.Iters != o.Iters || fmt.Sprint(a.Values) != fmt.Sprint(o.Values) {
				t.Fatalf("re-parse: %+v, want %+v", a, o)
			}
		}
	})
}

func names(out *bench.Output) []string {
	seen := map[string]bool{}
	var ns []string
	for _, r := range out.Results {
		if !seen[r.Name] {
			seen[r.Name] = true
			ns = append(ns, r.Name)
		}
	}
	sort.Strings(ns)
	return ns
}

func find(t *testing.T, out *bench.Output, name string) bench.Result {
	t.Helper()
	for _, r := range out.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result %s", name)
	return bench.Result{}
}

func value(t *testing.T, r bench.Result, unit string) float64 {
	t.Helper()
	for _, v := range r.Values {
		if v.Unit == unit {
			return v.Value
		}
	}
	t.Fatalf("%s: no %s value in %v", r.Name, unit, r.Values)
	return 0
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
