package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// buildFlags are the flags of `reliquary build` (and `reproduce`, which must build alike)
// that become build.Options.
type buildFlags struct {
	version, commit                                     *string
	goCache, modCache, lockFile, imageBase, repo, epoch *string
	parallel                                            *int
	platforms                                           stringList
}

func addBuildFlags(fs *flagSet) *buildFlags {
	bf := &buildFlags{
		version:   fs.String("version", "", "release version to stamp and name artifacts with (required)"),
		commit:    fs.String("commit", "", "commit to stamp (default: the source's git HEAD)"),
		goCache:   fs.String("go-cache", "", "GOCACHE for the builds (default: the go command's)"),
		modCache:  fs.String("mod-cache", "", "GOMODCACHE holding the frozen modules (default: the go command's)"),
		lockFile:  fs.String("lock", "", "deps.lock.json: build with its toolchain (the pinned one, from the module cache), and check go.mod and go.sum against it"),
		imageBase: fs.String("image-base", "", "OCI image layout tarball to build the image on (default: reliquary.yaml's, else scratch)"),
		repo:      fs.String("repository", "", "source repository URL for the image label (default: reliquary.yaml's, else https://MODULE)"),
		epoch:     fs.String("source-date-epoch", "", "commit time in Unix seconds (default: $SOURCE_DATE_EPOCH, else git HEAD's time)"),
		parallel:  fs.Int("parallel", 0, "concurrent go builds (default: GOMAXPROCS)"),
	}
	fs.Var(&bf.platforms, "platforms", "os/arch list, comma-separated or repeated (default: reliquary.yaml's, else linux/amd64,linux/arm64,darwin/arm64,windows/amd64)")
	return bf
}

// input is the build's input for the source at src into out.
func (f *buildFlags) input(src, out string) build.Input {
	return build.Input{Source: src, Version: *f.version, Commit: *f.commit, Platforms: f.platforms, OutDir: out}
}

func runBuild(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "build", "DIR")
	out := fs.String("out", "", "output directory; artifacts go to OUT/artifacts/, which must be empty (required)")
	bf := addBuildFlags(fs)
	version := bf.version
	record := fs.String("record", "", recordUsage+" (needs --lock)")
	asJSON := fs.Bool("json", false, "print the full build record (commands, environment, toolchain, artifacts) as JSON")
	binCache := fs.String("binary-cache", "", "reuse binaries linked earlier with the same inputs from DIR, and store new ones there (off by default here; `release` uses it by default)")
	report := fs.String("report", "", "also write the full build record as JSON to FILE, outside the bundle, for 'reliquary audit --build-report FILE' and 'reliquary reproduce --build-report FILE'")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *version == "" || *out == "" {
		return usagef("--version and --out are required")
	}
	start := time.Now()
	tree, err := recordedTree(*record, *bf.lockFile, *out, pos[0])
	if err != nil {
		return err
	}
	opts, err := bf.options(cli)
	if err != nil {
		return err
	}
	if *binCache != "" {
		opts = append(opts, build.WithBinaryCache(*binCache))
	}
	res, err := build.Run(ctx, bf.input(pos[0], *out), opts...)
	if err != nil {
		return usageError(err)
	}
	if *record != "" {
		if err := writeStageRecord(*record, "build", start, trail.BuildStep(os.Args, tree, *bf.lockFile, res.Products(), res.CacheNotes())); err != nil {
			return err
		}
	}
	if *report != "" {
		if err := writeJSONFile(*report, res); err != nil {
			return err
		}
	}
	for _, s := range res.Skipped {
		cli.log.Warn("build: skipped", "what", s.What, "reason", s.Reason)
	}
	cli.log.Info("built", "project", res.Project, "version", res.Version, "artifacts", len(res.Artifacts), "toolchain", res.Toolchain.Version, "commit_time", res.CommitTime.Format(time.RFC3339))
	if *asJSON {
		enc := json.NewEncoder(cli.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, a := range res.Artifacts {
		fmt.Fprintf(cli.stdout, "%s  %s\n", a.Digest.SHA256, joinPath(*out, a.Path))
	}
	return nil
}

// options turns the flags into build.Options.
func (f *buildFlags) options(cli *cliEnv) ([]build.Option, error) {
	opts := []build.Option{build.WithLogger(cli.log)}
	for _, o := range []struct {
		val string
		opt func(string) build.Option
	}{{*f.goCache, build.WithGoCache}, {*f.modCache, build.WithModCache}, {*f.imageBase, build.WithImageBase}, {*f.repo, build.WithRepository}} {
		if o.val != "" {
			opts = append(opts, o.opt(o.val))
		}
	}
	if *f.parallel != 0 {
		opts = append(opts, build.WithParallelism(*f.parallel))
	}
	if *f.epoch != "" {
		sec, err := strconv.ParseInt(*f.epoch, 10, 64)
		if err != nil || sec < 0 {
			return nil, usagef("--source-date-epoch: %q is not a non-negative number of seconds", *f.epoch)
		}
		opts = append(opts, build.WithTime(time.Unix(sec, 0)))
	}
	if *f.lockFile != "" {
		l, err := freeze.ReadLock(*f.lockFile)
		if err != nil {
			return nil, usageError(err)
		}
		opts = append(opts, build.WithLock(l))
	}
	return opts, nil
}

// recordedTree checks --record's needs and, when it is set, digests the source tree before
// the build reads it, as the release runner does.
func recordedTree(record, lockFile, out, src string) (string, error) {
	if record == "" {
		return "", nil
	}
	if lockFile == "" {
		return "", usagef("--record needs --lock: the build's link consumes the freeze stage's deps.lock.json")
	}
	if err := checkRecordPath("--record", record, out); err != nil {
		return "", err
	}
	tree, err := source.TreeDigest(src, source.DefaultExcludes)
	if err != nil {
		return "", usageError(fmt.Errorf("build: digest the source tree: %w", err))
	}
	return tree, nil
}

// writeJSONFile writes v as indented JSON to path, atomically.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return usageError(err)
	}
	return nil
}
