package main

import (
	"context"
	"errors"
	"fmt"

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
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *ver == "" {
		return usagef("--version is required (the final version, e.g. v1.0.0)")
	}
	opts := []promote.Option{promote.WithLogger(cli.log)}
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
	res, err := promote.Run(ctx, promote.Input{RC: pos[0], Out: *out, Version: *ver, Key: key, KeyName: kf.name(), Source: *src}, opts...)
	if err != nil {
		if errors.Is(err, release.ErrGate) {
			return gateFailed(err)
		}
		return usageError(err)
	}
	res.Report.WriteText(cli.stdout)
	fmt.Fprintf(cli.stdout, "promoted %s %s to %s into %s: %d artifacts, the candidate's bytes (its binaries report %s)\n",
		res.RC.Project, res.RC.Version, res.Manifest.Version, res.Dir, len(res.Manifest.Artifacts), res.RC.Version)
	return nil
}
