package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/publish"
)

// runPublish runs the gate on DIR and pushes the release to oci://HOST/REPO: the image
// from its OCI layout, signature and provenance referrers signed with --key, the bundle as
// an artifact, tags VERSION and VERSION-bundle. stdout lists every digest pushed.
func runPublish(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "publish", "DIR oci://HOST[:PORT]/REPO")
	kf := addKeyFlags(fs)
	var trusted stringList
	fs.Var(&trusted, "trusted-key", "public key the gate trusts before anything is pushed (default: the public half of --key); repeat for key rotation")
	rf := addRegistryFlags(fs, "the registry")
	asJSON := fs.Bool("json", false, "print what was pushed as JSON")
	pos, err := fs.parse(args, 2)
	if err != nil {
		return err
	}
	tg, err := rf.target(pos[1])
	if err != nil {
		return err
	}
	remote, err := rf.remote()
	if err != nil {
		return err
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	pubs, err := loadPublicKeys(trusted)
	if err != nil {
		return err
	}
	res, err := publish.Publish(ctx, publish.Input{Dir: pos[0], Target: tg, Key: key, Trusted: pubs, Remote: remote})
	if res != nil {
		printItems(cli, res.Items, res, *asJSON)
	}
	switch {
	case errors.Is(err, publish.ErrGate):
		res.Report.WriteText(cli.stderr)
		return gateFailed(err)
	case err != nil:
		return registryError(err)
	}
	cli.log.Info("published", "repository", res.Repository, "version", res.Version, "image", res.Image)
	return nil
}

// printItems prints what a publish or replication did, one line per item, or all of v as
// JSON.
func printItems(cli *cliEnv, items []publish.Pushed, v any, asJSON bool) {
	if asJSON {
		data, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(cli.stdout, string(data))
		return
	}
	for _, p := range items {
		fmt.Fprintf(cli.stdout, "%-18s %s %s\n", p.What, p.Digest, p.Status)
	}
}
