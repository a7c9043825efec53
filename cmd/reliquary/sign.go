package main

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/sign"
)

// runSign signs DIR/manifest.json into DIR/manifest.json.sigstore.json and ships the public
// key as DIR/keys/NAME.pub (NAME from the key file's name). stdout lists the files written.
func runSign(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "sign", "DIR")
	kf := addKeyFlags(fs)
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	res, err := sign.Manifest(pos[0], kf.name(), key)
	if err != nil {
		return usageError(err)
	}
	cli.log.Info("signed manifest", "dir", pos[0], "fingerprint", res.Fingerprint)
	fmt.Fprintln(cli.stdout, res.Bundle)
	fmt.Fprintln(cli.stdout, res.PublicKey)
	return nil
}
