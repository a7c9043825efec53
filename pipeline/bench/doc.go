// Package bench is the benchmark stage: it runs a Go project's benchmarks (and, optionally,
// commands such as a daemon's start-up), compares them with a baseline commit of the same
// repository run side by side on the same machine, and gates the release on regressions.
//
// Contract:
//   - Every sample is kept. Samples come from `go test -bench` output parsed with
//     golang.org/x/perf/benchfmt (units tidied: ns/op becomes sec/op, MB/s becomes B/s); the
//     input is size-limited and a malformed line is an error naming its source and line.
//   - With a baseline, both sides are compiled once (`go test -c`, `go build`) and run
//     interleaved, round by round, the order alternating (A B, B A, ...), so drift on the
//     machine hits both sides alike. Both sides use the same Go toolchain.
//   - Comparison is benchstat's: golang.org/x/perf/benchmath with no distributional
//     assumption (median, its confidence interval, Mann-Whitney U test), alpha 0.05.
//   - The gate fails on a regression: a change for the worse that is significant (p < alpha)
//     and beyond the unit's threshold (default: sec/op 5%, allocs/op any increase). A change
//     that is not significant is "~", never a pass or a fail. Regressions accepted with
//     WithAllowRegression stay in the report as "allowed".
//   - Output is a Report (bench.json, schema Schema): all samples, the comparison and the
//     gate, in a deterministic order, with the machine they ran on. Text and Markdown render
//     the benchstat-style table; Statement wraps bench.json's digest and the source commit in
//     an in-toto v1 Statement (predicate type PredicateType) for signing, and CheckStatement
//     verifies one against bench.json.
package bench
