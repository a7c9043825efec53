package main

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/escrow"
)

// runEscrow archives a signed, attested bundle's records (manifest, sums, signatures,
// provenance, notes, changelog, audit summary) into escrow.tar.gz and signs it: the stage
// after audit, before seal.
func runEscrow(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "escrow", "DIR")
	kf := addKeyFlags(fs)
	at := fs.String("time", "", "the release time every archive entry carries, RFC 3339 (default: $SOURCE_DATE_EPOCH; one is required)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	t, err := releaseTimeFlag(*at)
	if err != nil {
		return err
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	out, err := escrow.Write(pos[0], key, t)
	if err != nil {
		return usageError(err)
	}
	cli.log.Info("escrow", "sha256", out.SHA256, "records", len(out.Members))
	for _, f := range out.Files {
		fmt.Fprintln(cli.stdout, joinPath(pos[0], f))
	}
	return nil
}
