package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// recordUsage is the help of --record, which freeze, build, digest and sign share.
// toolchainUsage is the help of --toolchain, which freeze and release share.
const toolchainUsage = "the Go toolchain the builds run with: go.mod (the one go.mod's toolchain line, or a go line newer than the local Go, pins, fetched through GOPROXY and checked by GOSUMDB; else the local one) or local (the go command on PATH, whatever go.mod pins); recorded in deps.lock.json"

const recordUsage = "after success, write this stage's record (command, inputs, outputs with SHA-256) to FILE, outside the bundle, for 'reliquary attest --stage-record FILE'"

func runFreeze(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "freeze", "DIR")
	out := fs.String("out", "deps.lock.json", "where to write the lock file")
	modCache := fs.String("mod-cache", "", "download modules into this GOMODCACHE (default: the go command's)")
	record := fs.String("record", "", recordUsage)
	memo := fs.String("verify-memo", "", "remember in DIR the module caches go mod verify passed, and skip it while the cache is unchanged (every file's size, times and inode; release keeps this memo beside its binary cache)")
	toolchain := fs.String("toolchain", freeze.ToolchainGoMod, toolchainUsage)
	var images, allow stringList
	fs.Var(&images, "image", "a base image that must be pinned by digest, name@sha256:... (repeatable)")
	fs.Var(&allow, "allow", fmt.Sprintf("waive a check, with a real reason: one of %v (repeatable)", freeze.Allowable()))
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	// Where the bundle is is not freeze's to know (--out is often DIR/deps.lock.json, but
	// need not be): build and attest refuse a record inside the bundle.
	if *record != "" && filepath.Clean(*record) == filepath.Clean(*out) {
		return usagef("--record and --out are the same file, %s", *out)
	}
	start := time.Now()
	opts := []freeze.Option{freeze.WithLogger(cli.log), freeze.WithToolchain(*toolchain)}
	for _, a := range allow {
		opts = append(opts, freeze.Allow(freeze.Check(a)))
	}
	if *modCache != "" {
		opts = append(opts, freeze.WithModCache(*modCache))
	}
	if *memo != "" {
		opts = append(opts, freeze.WithVerifyMemo(*memo))
	}
	lock, err := freeze.Run(ctx, freeze.Input{Dir: pos[0], Images: images}, opts...)
	if errors.Is(err, freeze.ErrNotFrozen) {
		return gateFailed(err)
	}
	if err != nil {
		return usageError(err)
	}
	for _, p := range lock.Waived {
		cli.log.Warn("freeze: waived", "check", p.Check, "subject", p.Subject, "detail", p.Detail)
	}
	if err := lock.WriteFile(*out); err != nil {
		return usageError(err)
	}
	if err := writeStageRecord(*record, "freeze", start, trail.FreezeStep(os.Args, lock, *out)); err != nil {
		return err
	}
	cli.log.Info("frozen", "dir", pos[0], "modules", len(lock.Modules), "toolchain", lock.Toolchain.Version(), "gotoolchain", lock.Toolchain.GOTOOLCHAIN())
	fmt.Fprintf(cli.stdout, "%s %s\n", *out, lock.Digest)
	return nil
}

// checkRecordPath refuses a stage record inside the bundle: the bundle holds what is
// released, and a record there would be digested as an artifact no stage made.
func checkRecordPath(flag, record, bundleDir string) error {
	if record == "" {
		return nil
	}
	rec, err := filepath.Abs(record)
	if err != nil {
		return usageError(err)
	}
	dir, err := filepath.Abs(bundleDir)
	if err != nil {
		return usageError(err)
	}
	if rel, err := filepath.Rel(dir, rec); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return usagef("%s %s is inside the bundle %s: keep stage records elsewhere (they are handed to 'reliquary attest --stage-record', not released)", flag, record, bundleDir)
	}
	return nil
}

// writeStageRecord writes what the stage did to record, when asked to. The command is the
// process's own argv, so the link says exactly what ran.
func writeStageRecord(record, stage string, start time.Time, step trail.Step) error {
	if record == "" {
		return nil
	}
	if err := trail.WriteRecord(record, trail.Finished(stage, start, time.Now(), step)); err != nil {
		return usageError(err)
	}
	return nil
}
