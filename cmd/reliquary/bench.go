package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// benchFlags are the bench command's flags, turned into the stage's input and policy below.
type benchFlags struct {
	in                       bench.Input
	packages, allow          stringList
	threshold, allocs        string
	commands, ready          []string
	cmdTimeout               time.Duration
	out, markdown, statement string
	record, logFile          string
	fs                       *flagSet
}

func runBench(ctx context.Context, cli *cliEnv, args []string) error {
	f, err := parseBenchFlags(cli, args)
	if err != nil {
		return err
	}
	opts, err := f.policy()
	if err != nil {
		return usageError(err)
	}
	start := time.Now()
	lr, err := startLive(cli, f.fs, bench.Stages, orDefault(f.logFile, filepath.Join(os.TempDir(), fmt.Sprintf("reliquary-bench-%d.log", os.Getpid()))))
	if err != nil {
		return err
	}
	in, err := f.input(cli)
	if err != nil {
		lr.end("bench failed")
		return usageError(err)
	}
	r, err := bench.Run(ctx, in, opts...)
	if err == nil {
		err = writeBenchOutputs(f, r)
	}
	if err != nil {
		lr.end("bench failed")
		return err
	}
	lr.end(benchSummary(f.out, r))
	fmt.Fprint(cli.stdout, bench.Text(r))
	cli.log.Info("benchmarks recorded", "out", f.out, "gate", r.Gate.Status,
		"regressions", len(r.Gate.Regressions), "allowed", len(r.Gate.Allowed))
	if err := r.Gate.Err(); err != nil {
		return gateFailed(err)
	}
	// Only a stage that passed leaves a record: bench.json as its output, which attest links
	// and signs.
	step := trail.Step{Command: os.Args, Outputs: trail.FilesOf(filepath.Dir(f.out), filepath.Base(f.out))}
	return writeStageRecord(f.record, "bench", start, step)
}

func parseBenchFlags(cli *cliEnv, args []string) (*benchFlags, error) {
	f := &benchFlags{}
	fs := newFlagSet(cli, "bench", "")
	f.fs = fs
	fs.StringVar(&f.in.Source, "source", ".", "directory of the Go module to benchmark (its working tree as it is)")
	fs.Var(&f.packages, "packages", "package patterns to benchmark, comma-separated or repeated (default ./...)")
	fs.StringVar(&f.in.Bench, "bench", ".", "benchmarks to run: go test's -bench regexp")
	fs.IntVar(&f.in.Count, "count", bench.DefaultCount, "samples per side (at least 4 to compare at alpha 0.05)")
	fs.StringVar(&f.in.BenchTime, "benchtime", "", "time or iterations per sample, go test's -benchtime (e.g. 200ms, 1000x; default 1s)")
	fs.StringVar(&f.in.CPU, "cpu", "", "GOMAXPROCS values to run with, go test's -cpu (e.g. 1,4)")
	fs.StringVar(&f.in.BaselineRef, "baseline-ref", "", "git ref or commit of the same repository to compare against, e.g. v0.9.0")
	fs.StringVar(&f.threshold, "threshold", "5%", "fail when sec/op gets significantly worse by more than this")
	fs.StringVar(&f.allocs, "alloc-threshold", "0%", "fail when allocs/op gets significantly worse by more than this (0%: any increase)")
	fs.Var(&f.allow, "allow-regression", "accept a regression of this benchmark (and its sub-benchmarks); recorded in bench.json; repeatable")
	fs.Func("command", "command benchmark 'NAME=PKG [ARG...]': build main package PKG on each side and time a run; repeatable", func(s string) error {
		f.commands = append(f.commands, s)
		return nil
	})
	fs.Func("ready", "'NAME=REGEXP': command NAME is a daemon; time it until a line of its output matches, then stop it", func(s string) error {
		f.ready = append(f.ready, s)
		return nil
	})
	fs.DurationVar(&f.cmdTimeout, "command-timeout", bench.DefaultCommandTimeout, "bound on one run of a command benchmark")
	fs.StringVar(&f.out, "out", "", "write bench.json here (required)")
	fs.StringVar(&f.record, "record", "", "after the benchmarks ran, write this stage's record to FILE, outside the bundle, for 'reliquary attest --stage-record FILE' (--out must then be BUNDLE/bench.json)")
	fs.StringVar(&f.markdown, "markdown", "", "also write the Markdown table here (for release notes: notes --section Benchmarks=FILE)")
	fs.StringVar(&f.logFile, "log-file", "", "where the detailed JSON log goes while a terminal shows the live stage list (default: reliquary-bench-PID.log in the temporary directory)")
	fs.StringVar(&f.statement, "statement", "", "also write the unsigned in-toto statement about bench.json here")
	if _, err := fs.parse(args, 0); err != nil {
		return nil, err
	}
	if f.out == "" {
		return nil, usagef("--out is required (where to write bench.json)")
	}
	if f.record != "" && filepath.Base(f.out) != bundle.BenchFile {
		return nil, usagef("--record needs --out BUNDLE/%s: the record names the bundle's file", bundle.BenchFile)
	}
	return f, nil
}

func (f *benchFlags) policy() ([]bench.Option, error) {
	secs, err := parsePercent("--threshold", f.threshold)
	if err != nil {
		return nil, err
	}
	allocs, err := parsePercent("--alloc-threshold", f.allocs)
	if err != nil {
		return nil, err
	}
	return []bench.Option{
		bench.WithThreshold("sec/op", secs),
		bench.WithThreshold("allocs/op", allocs),
		bench.WithAllowRegression(f.allow...),
	}, nil
}

func (f *benchFlags) input(cli *cliEnv) (bench.Input, error) {
	in := f.in
	in.Packages = f.packages
	in.Log = cli.log
	for _, s := range f.commands {
		name, spec, ok := strings.Cut(s, "=")
		fields := strings.Fields(spec)
		if !ok || strings.TrimSpace(name) == "" || len(fields) == 0 {
			return in, fmt.Errorf("--command: want NAME=PKG [ARG...], got %q", s)
		}
		in.Commands = append(in.Commands, bench.Command{
			Name: strings.TrimSpace(name), Package: fields[0], Args: fields[1:], Timeout: f.cmdTimeout,
		})
	}
	for _, s := range f.ready {
		name, re, ok := strings.Cut(s, "=")
		i := commandIndex(in.Commands, strings.TrimSpace(name))
		if !ok || re == "" || i < 0 {
			return in, fmt.Errorf("--ready: want NAME=REGEXP naming a --command, got %q", s)
		}
		in.Commands[i].Ready = re
	}
	return in, nil
}

func commandIndex(cmds []bench.Command, name string) int {
	for i := range cmds {
		if cmds[i].Name == name {
			return i
		}
	}
	return -1
}

// parsePercent reads "5%" or "5".
func parsePercent(flag, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s: want a percentage such as 5%%, got %q", flag, s)
	}
	return v, nil
}

// benchSummary is the line under the live list: how much was measured, the gate, and where.
func benchSummary(out string, r *bench.Report) string {
	names := map[string]bool{}
	for _, s := range r.Current.Series {
		names[s.Package+"."+s.Name] = true
	}
	if r.Baseline == nil {
		return fmt.Sprintf("measured %d benchmark(s), no baseline: gate %s; wrote %s", len(names), r.Gate.Status, out)
	}
	return fmt.Sprintf("measured %d benchmark(s) against %s: gate %s, %d regression(s); wrote %s",
		len(names), r.Baseline.Ref, r.Gate.Status, len(r.Gate.Regressions), out)
}

// writeBenchOutputs writes bench.json and, if asked, the Markdown table and the statement,
// each atomically. bench.json is written even when the gate fails: it is the evidence.
func writeBenchOutputs(f *benchFlags, r *bench.Report) error {
	data, err := r.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(f.out, data, 0o644); err != nil {
		return err
	}
	if f.markdown != "" {
		if err := atomicfile.WriteFile(f.markdown, []byte(bench.Markdown(r)), 0o644); err != nil {
			return err
		}
	}
	if f.statement != "" {
		st, err := bench.Statement(data)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.statement, st, 0o644); err != nil {
			return err
		}
	}
	return nil
}
