package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/internal/strictjson"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/release"
)

// runReproduce is the reproducibility stage on its own: it rebuilds SRC from a copy in
// another directory with an empty build cache, with the same flags the build ran with, and
// compares every artifact with the first build's (--against, listed by --build-report). A
// difference exits 1, naming each artifact; --result keeps the comparison for 'reliquary
// attest --reproduction', which signs it into the bundle.
func runReproduce(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "reproduce", "SRC")
	against := fs.String("against", "", "the first build's output directory, holding artifacts/ (required)")
	report := fs.String("build-report", "", "the first build's report, 'reliquary build --report FILE' (required)")
	result := fs.String("result", "", "write the comparison as JSON to FILE, outside the bundle, for 'reliquary attest --reproduction FILE'")
	bf := addBuildFlags(fs)
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *bf.version == "" || *against == "" || *report == "" {
		return usagef("--version, --against and --build-report are required")
	}
	first, err := readBuildReport(*report)
	if err != nil {
		return err
	}
	opts, err := bf.options(cli)
	if err != nil {
		return err
	}
	tree := build.Tree{Dir: *against, Artifacts: first.Artifacts}
	cmp, err := release.Reproduce(ctx, bf.input(pos[0], ""), tree, func(goCache string) []build.Option {
		return append(opts, build.WithGoCache(goCache))
	})
	if cmp != nil && *result != "" {
		if werr := writeJSONFile(*result, cmp); werr != nil {
			return werr
		}
	}
	if errors.Is(err, release.ErrGate) {
		return gateFailed(err)
	}
	if err != nil {
		return usageError(err)
	}
	fmt.Fprintf(cli.stdout, "reproduced %d artifact(s) byte for byte\n", len(cmp.Reproduced))
	return nil
}

// readBuildReport reads a build's report, 'reliquary build --report FILE'.
func readBuildReport(path string) (*build.Output, error) {
	out := &build.Output{}
	return out, readJSONFile(path, out)
}

// readJSONFile decodes the record file at path strictly into v (a report or comparison a
// stage left for a later one), at most maxBuildReport bytes; errors are usage errors naming
// the file.
func readJSONFile(path string, v any) error {
	data, err := readLimited(path, maxBuildReport)
	if err != nil {
		return usageError(err)
	}
	if err := strictjson.Decode(data, maxBuildReport, v); err != nil {
		return usageError(fmt.Errorf("%s: %w", path, err))
	}
	return nil
}
