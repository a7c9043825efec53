package main

import (
	"context"
	"errors"

	"github.com/sentientos/reliquary/pipeline/release"
)

// runSeal is a release's last stage: the gate over the finished bundle, trusting only the
// public half of the signing key, then verification.json and the signed verification summary
// written into the bundle. It prints the gate's report.
func runSeal(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "seal", "DIR")
	kf := addKeyFlags(fs)
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	report, err := release.Seal(ctx, pos[0], key)
	if report != nil {
		report.WriteText(cli.stdout)
	}
	if errors.Is(err, release.ErrGate) {
		return gateFailed(err)
	}
	if err != nil {
		return usageError(err)
	}
	return nil
}
