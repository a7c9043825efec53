package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sentientos/reliquary/pipeline/replay"
)

func runReplay(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "replay", "BUNDLE")
	src := fs.String("source", ".", "the source at the attested commit")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	logFile := fs.String("log-file", "", "where the detailed JSON log goes while a terminal shows the live stage list (default: reliquary-replay-PID.log in the temporary directory)")
	reuse := fs.Bool("reuse-build-cache", false, "build with this machine's Go build cache instead of an empty private one (faster, but packages the release compiled here are not compiled again; the result says so)")
	var keyFiles stringList
	fs.Var(&keyFiles, "key", "trusted public key (PEM), repeatable; the bundle is verified first")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if len(keyFiles) == 0 {
		return usagef("--key is required: a replay starts by verifying the bundle")
	}
	pubs, err := loadPublicKeys(keyFiles)
	if err != nil {
		return err
	}
	lr, err := startLive(cli, fs, replay.Stages, orDefault(*logFile, filepath.Join(os.TempDir(), fmt.Sprintf("reliquary-replay-%d.log", os.Getpid()))))
	if err != nil {
		return err
	}
	res, err := replay.Run(ctx, replay.Input{Bundle: pos[0], Source: *src, Keys: pubs, Log: cli.log, ReuseBuildCache: *reuse})
	if err != nil {
		lr.end("replay failed")
		return usageError(err)
	}
	if res.Reproduced {
		lr.end(fmt.Sprintf("reproduced %s %s from %s in %.1f s", res.Manifest.Project, res.Manifest.Version, *src, res.Seconds))
	} else {
		lr.end(fmt.Sprintf("NOT reproduced: %s from %s (the details follow)", pos[0], *src))
	}
	if err := printReplay(cli.stdout, res, *asJSON); err != nil {
		return err
	}
	if !res.Reproduced {
		return gateFailed(fmt.Errorf("%s was not reproduced from %s", pos[0], *src))
	}
	return nil
}

func printReplay(w io.Writer, res *replay.Result, asJSON bool) error {
	if asJSON {
		return writeJSON(w, res)
	}
	if !res.Report.Verified || !res.Report.Authenticated {
		res.Report.WriteText(w)
	}
	_, err := io.WriteString(w, res.Summary())
	return err
}
