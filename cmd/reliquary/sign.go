package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// runSign signs DIR/manifest.json into DIR/manifest.json.sigstore.json and ships the public
// key as DIR/keys/NAME.pub (NAME from the key file's name). stdout lists the files written.
// With --record FILE it leaves the stage's record (its argv, manifest.json in, the signature
// and public key out) for 'reliquary attest --stage-record'.
func runSign(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "sign", "DIR")
	kf := addKeyFlags(fs)
	record := fs.String("record", "", recordUsage)
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if err := checkRecordPath("--record", *record, pos[0]); err != nil {
		return err
	}
	start := time.Now()
	key, err := kf.load()
	if err != nil {
		return err
	}
	res, err := sign.Manifest(pos[0], kf.name(), key)
	if err != nil {
		return usageError(err)
	}
	pub := path.Join(bundle.KeysDir, filepath.Base(res.PublicKey))
	if err := writeStageRecord(*record, "sign", start, trail.SignStep(os.Args, pos[0], pub)); err != nil {
		return err
	}
	cli.log.Info("signed manifest", "dir", pos[0], "fingerprint", res.Fingerprint)
	fmt.Fprintln(cli.stdout, res.Bundle)
	fmt.Fprintln(cli.stdout, res.PublicKey)
	return nil
}
