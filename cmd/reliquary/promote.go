package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/promote"
	"github.com/sentientos/reliquary/pipeline/release"
)

// runPromote re-issues a verified release candidate under its final version: the same
// artifact bytes under final names, with a new manifest, signature, provenance, notes,
// changelog, audit summary and escrow. A candidate that fails the gate exits 1; a version or
// promotion the tags refuse exits 2.
func runPromote(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "promote", "RC_BUNDLE")
	ver := fs.String("version", "", "the final version, the candidate's without its -rc.N, e.g. v1.0.0 (required)")
	out := fs.String("out", "dist", "the final bundle directory to create (must not exist, or be an empty directory)")
	src := fs.String("source", "", "the project's git repository: its tags check the promotion, its history and CHANGELOG.md give the notes")
	kf := addKeyFlags(fs)
	var rcKeys stringList
	fs.Var(&rcKeys, "rc-key", "public key the candidate must be signed with (repeatable; default: the public half of --key)")
	logFile := fs.String("log-file", "", "where the detailed JSON log goes while a terminal shows the live stage list (default: OUT.log beside the bundle)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *ver == "" {
		return usagef("--version is required (the final version, e.g. v1.0.0)")
	}
	var opts []promote.Option
	for _, p := range rcKeys {
		pub, err := keys.LoadPublic(p)
		if err != nil {
			return usagef("--rc-key: %v", err)
		}
		opts = append(opts, promote.TrustCandidateKeys(pub))
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	lr, err := startLive(cli, fs, nil, orDefault(*logFile, filepath.Clean(*out)+".log"))
	if err != nil {
		return err
	}
	opts = append(opts, promote.WithLogger(cli.log))
	res, err := promote.Run(ctx, promote.Input{RC: pos[0], Out: *out, Version: *ver, Key: key, KeyName: kf.name(), Source: *src}, opts...)
	if err != nil {
		lr.end("promotion failed")
		if errors.Is(err, release.ErrGate) {
			return gateFailed(err)
		}
		return usageError(err)
	}
	lr.end(fmt.Sprintf("promoted %s %s to %s into %s: %d artifacts", res.RC.Project, res.RC.Version, res.Manifest.Version, res.Dir, len(res.Manifest.Artifacts)),
		fmt.Sprintf("verify with the public key you publish: reliquary verify %s --key %s.pub", res.Dir, kf.name()))
	res.Report.WriteText(cli.stdout)
	fmt.Fprintf(cli.stdout, "promoted %s %s to %s into %s: %d artifacts, the candidate's bytes (its binaries report %s)\n",
		res.RC.Project, res.RC.Version, res.Manifest.Version, res.Dir, len(res.Manifest.Artifacts), res.RC.Version)
	return nil
}
