package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/release"
)

func runRelease(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "release", "")
	src := fs.String("source", ".", "the project to release: a Go module in a git repository")
	ver := fs.String("version", "", "the version to release, e.g. v1.0.0 or v1.0.0-rc.1 (required)")
	out := fs.String("out", "dist", "the bundle directory to create (must not exist)")
	kf := addKeyFlags(fs)
	var platforms, allow stringList
	fs.Var(&platforms, "platforms", "os/arch list (default: reliquary.yaml's, else linux/amd64,linux/arm64,darwin/arm64,windows/amd64)")
	fs.Var(&allow, "allow", "waive a freeze check you have a real reason to waive (recorded in deps.lock.json)")
	toolchain := fs.String("toolchain", freeze.ToolchainGoMod, toolchainUsage)
	repro := fs.Bool("check-reproducible", false, "rebuild in another directory with an empty GOCACHE and fail unless every artifact is identical")
	repo := fs.String("source-repo", "", "source repository URL for the provenance (default: git remote origin)")
	at := fs.String("time", "", "release time, RFC 3339 (default: SOURCE_DATE_EPOCH, else the commit time)")
	force := fs.Bool("allow-not-greater-unsafe", false, "release a version not greater than the latest tag")
	bc := addBinaryCacheFlags(fs)
	logFile := fs.String("log-file", "", "where the detailed JSON log goes while a terminal shows the live stage list (default: OUT.log beside the bundle)")
	bf := addReleaseBenchFlags(fs)
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	if *ver == "" {
		return usagef("--version is required")
	}
	key, loadKey, err := kf.loadLater()
	if err != nil {
		return err
	}
	lr, err := startLive(cli, fs, releaseStageNames(), orDefault(*logFile, filepath.Clean(*out)+".log"))
	if err != nil {
		return err
	}
	opts := []release.Option{release.WithLogger(cli.log), release.WithRepository(*repo, ""), release.WithToolchain(*toolchain)}
	if *repro {
		opts = append(opts, release.WithReproducibilityCheck())
	}
	if *force {
		opts = append(opts, release.AllowVersionNotGreaterUnsafe())
	}
	if dir := bc.dir(cli); dir != "" {
		opts = append(opts, release.WithBinaryCache(dir))
	}
	if bo, err := bf.option(); err != nil {
		return err
	} else if bo != nil {
		opts = append(opts, bo)
	}
	for _, a := range allow {
		opts = append(opts, release.AllowFreeze(freeze.Check(a)))
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usagef("--time: %v", err)
		}
		opts = append(opts, release.WithTime(t))
	}
	res, err := release.Run(ctx, release.Input{Source: *src, Out: *out, Version: *ver, Key: key, LoadKey: loadKey, KeyName: kf.name(), Platforms: platforms}, opts...)
	if err != nil {
		lr.end("release failed")
		if errors.Is(err, release.ErrGate) || errors.Is(err, freeze.ErrNotFrozen) {
			return gateFailed(err)
		}
		return usageError(err)
	}
	lr.end(fmt.Sprintf("released %s %s into %s: %d artifacts", res.Manifest.Project, res.Manifest.Version, res.Dir, len(res.Manifest.Artifacts)),
		fmt.Sprintf("verify with the public key you publish (its fingerprint is in the notes): reliquary verify %s --key %s.pub", res.Dir, kf.name()))
	res.Report.WriteText(cli.stdout)
	fmt.Fprintf(cli.stdout, "released %s %s into %s (%d artifacts)\n", res.Manifest.Project, res.Manifest.Version, res.Dir, len(res.Manifest.Artifacts))
	return nil
}

// releaseBenchFlags are `release`'s benchmark flags: a subset of `reliquary bench`'s.
type releaseBenchFlags struct {
	on                       *bool
	baseline, pattern, btime *string
	threshold                *string
	count                    *int
	packages, allow          stringList
}

func addReleaseBenchFlags(fs *flagSet) *releaseBenchFlags {
	f := &releaseBenchFlags{
		on:        fs.Bool("bench", false, "run the project's Go benchmarks, sign bench.json into the release, and fail on a regression"),
		baseline:  fs.String("bench-baseline", "", "git ref to compare against, side by side on this machine (e.g. the previous tag)"),
		pattern:   fs.String("bench-pattern", ".", "benchmarks to run: go test's -bench regexp"),
		btime:     fs.String("bench-time", "", "go test's -benchtime per sample (default 1s)"),
		threshold: fs.String("bench-threshold", "5%", "fail when sec/op gets significantly worse by more than this"),
		count:     fs.Int("bench-count", bench.DefaultCount, "samples per side"),
	}
	fs.Var(&f.packages, "bench-packages", "package patterns to benchmark (default ./...)")
	fs.Var(&f.allow, "allow-regression", "accept a regression of this benchmark knowingly (recorded in bench.json)")
	return f
}

func (f *releaseBenchFlags) option() (release.Option, error) {
	if !*f.on {
		if *f.baseline != "" || len(f.allow) > 0 {
			return nil, usagef("--bench-baseline and --allow-regression need --bench")
		}
		return nil, nil
	}
	pct, err := parsePercent("--bench-threshold", *f.threshold)
	if err != nil {
		return nil, usageError(err)
	}
	in := bench.Input{Packages: f.packages, Bench: *f.pattern, Count: *f.count, BenchTime: *f.btime, BaselineRef: *f.baseline}
	return release.WithBench(in, bench.WithThreshold("sec/op", pct), bench.WithThreshold("allocs/op", 0), bench.WithAllowRegression(f.allow...)), nil
}
