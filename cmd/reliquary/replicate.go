package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/publish"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// runReplicate verifies a published release at the source, copies it by digest to the
// destination and verifies it there. stdout lists what was copied and what was there.
func runReplicate(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "replicate", "oci://A/REPO:VERSION oci://B/REPO")
	var keyFiles stringList
	fs.Var(&keyFiles, "key", "trusted public key (PEM), required; repeat for key rotation")
	expectProject := fs.String("expect-project", "", "fail unless the release is this project")
	rf := addRegistryFlags(fs, "the destination (the source uses the docker config)")
	asJSON := fs.Bool("json", false, "print what was copied as JSON")
	pos, err := fs.parse(args, 2)
	if err != nil {
		return err
	}
	from, err := rf.target(pos[0])
	if err != nil {
		return err
	}
	to, err := rf.target(pos[1])
	if err != nil {
		return err
	}
	pubs, err := trustedKeys(keyFiles)
	if err != nil {
		return err
	}
	toRemote, err := rf.remote()
	if err != nil {
		return err
	}
	var gate []verify.Option
	if *expectProject != "" {
		gate = append(gate, verify.WithExpectedVersion(from.Tag, *expectProject))
	}
	rep, err := publish.Replicate(ctx, publish.ReplicateInput{From: from, To: to, ToAuth: toRemote, Trusted: pubs, Gate: gate})
	if rep != nil {
		printItems(cli, rep.Items, rep, *asJSON)
	}
	switch {
	case errors.Is(err, publish.ErrSourceGate):
		rep.Source.WriteText(cli.stderr)
		return gateFailed(err)
	case err != nil:
		return registryError(err)
	case !rep.Destination.Verified:
		rep.Destination.WriteText(cli.stderr)
		return gateFailed(fmt.Errorf("%s: the copy does not verify at the destination", to))
	}
	return nil
}
