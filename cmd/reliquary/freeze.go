package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/freeze"
)

func runFreeze(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "freeze", "DIR")
	out := fs.String("out", "deps.lock.json", "where to write the lock file")
	modCache := fs.String("mod-cache", "", "download modules into this GOMODCACHE (default: the go command's)")
	var images, allow stringList
	fs.Var(&images, "image", "a base image that must be pinned by digest, name@sha256:... (repeatable)")
	fs.Var(&allow, "allow", fmt.Sprintf("waive a check, with a real reason: one of %v (repeatable)", freeze.Allowable()))
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	opts := []freeze.Option{freeze.WithLogger(cli.log)}
	for _, a := range allow {
		opts = append(opts, freeze.Allow(freeze.Check(a)))
	}
	if *modCache != "" {
		opts = append(opts, freeze.WithModCache(*modCache))
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
	cli.log.Info("frozen", "dir", pos[0], "modules", len(lock.Modules), "toolchain", lock.Toolchain.Local)
	fmt.Fprintf(cli.stdout, "%s %s\n", *out, lock.Digest)
	return nil
}
