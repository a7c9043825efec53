package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/perf/benchfmt"
)

// MaxOutput bounds the benchmark output read from one source (one file, one run of a test
// binary). Real output is a few hundred bytes per benchmark and sample.
const MaxOutput = 32 << 20

// maxOutput is the limit in force: MaxOutput, lowered by tests to exercise it cheaply.
var maxOutput = MaxOutput

// ErrMalformed is the root of every error about unparseable benchmark output.
var ErrMalformed = errors.New("malformed benchmark output")

// Result is one benchmark result line: one sample in each unit it reports.
type Result struct {
	Package string  // from the "pkg:" line before it; "" if there was none
	Name    string  // the full name without "Benchmark": sub-benchmarks and -N GOMAXPROCS suffix kept
	Iters   int     // iterations the values are averaged over
	Values  []Value // in the order of the line, tidied (ns/op is sec/op, MB/s is B/s)
}

// Value is one measurement and its unit.
type Value struct {
	Value float64
	Unit  string
}

// Output is parsed benchmark output.
type Output struct {
	Results []Result // in the order they were read
	CPU     string   // the last "cpu:" line, which `go test` prints on most platforms
}

// Parse reads `go test -bench` output (the Go benchmark format) from r. source names the
// input in errors. Lines that are not benchmark results or configuration (PASS, ok, logs)
// are ignored; a line that starts like a result but does not parse is an error.
func Parse(r io.Reader, source string) (*Output, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(maxOutput)+1))
	if err != nil {
		return nil, fmt.Errorf("bench: read %s: %w", source, err)
	}
	if len(data) > maxOutput {
		return nil, fmt.Errorf("%w: %s: larger than the %d-byte limit", ErrMalformed, source, maxOutput)
	}
	return parseBytes(data, source)
}

func parseBytes(data []byte, source string) (*Output, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: %s: not valid UTF-8", ErrMalformed, source)
	}
	rd := benchfmt.NewReader(bytes.NewReader(data), source)
	out := &Output{}
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("%w: %s", ErrMalformed, rec.Error())
		case *benchfmt.Result:
			res, err := convert(rec)
			if err != nil {
				file, line := rec.Pos()
				return nil, fmt.Errorf("%w: %s:%d: %v", ErrMalformed, file, line, err)
			}
			if cpu := strings.TrimSpace(rec.GetConfig("cpu")); cpu != "" {
				out.CPU = cpu
			}
			out.Results = append(out.Results, res)
		}
	}
	if err := rd.Err(); err != nil {
		// bufio's "token too long" for a line over 64 KiB ends up here.
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return out, nil
}

// convert copies a benchfmt result (which the reader reuses) and refuses values JSON cannot
// carry and lines that report one unit twice, which would count as two samples.
func convert(rec *benchfmt.Result) (Result, error) {
	res := Result{Package: rec.GetConfig("pkg"), Name: rec.Name.String(), Iters: rec.Iters}
	if res.Name == "" {
		return Result{}, errors.New("benchmark with an empty name")
	}
	if res.Iters <= 0 {
		return Result{}, fmt.Errorf("benchmark %s: iteration count %d is not positive", res.Name, res.Iters)
	}
	seen := make(map[string]bool, len(rec.Values))
	for _, v := range rec.Values {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			return Result{}, fmt.Errorf("benchmark %s: %s value %v is not a finite number", res.Name, v.Unit, v.Value)
		}
		if seen[v.Unit] {
			return Result{}, fmt.Errorf("benchmark %s: unit %s reported twice", res.Name, v.Unit)
		}
		seen[v.Unit] = true
		res.Values = append(res.Values, Value{Value: v.Value, Unit: v.Unit})
	}
	return res, nil
}
