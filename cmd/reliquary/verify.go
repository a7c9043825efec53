package main

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
	"github.com/sentientos/reliquary/pipeline/verify"
)

func runVerify(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "verify", "DIR|oci://HOST/REPO:VERSION")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	reportOut := fs.String("report", "", "also write the JSON report to this file")
	sha512 := fs.Bool("sha512", false, "also recompute SHA-512 digests (SHA-256 alone binds every file)")
	vsaOut := fs.String("vsa", "", "write a SLSA Verification Summary Attestation to this file")
	vsaKey := fs.String("vsa-key", "", "sign the summary with this private key (the verifier's own); unsigned without it")
	expectVersion := fs.String("expect-version", "", "fail unless the bundle is this version (catches a rolled-back or swapped release, which is still validly signed)")
	expectProject := fs.String("expect-project", "", "with --expect-version: fail unless the bundle is this project")
	digestsOnly := fs.Bool("digests-only", false, "check digests, SHA256SUMS and the file list only, without --key: no signature is checked, so a re-digested release passes (unsafe; the verdict says so)")
	var keys stringList
	fs.Var(&keys, "key", "trusted public key (PEM), required unless --digests-only; repeat for key rotation")
	rf := addRegistryFlags(fs, "the registry (oci://)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if publish.IsTarget(pos[0]) && (*digestsOnly || *vsaOut != "") {
		return usagef("verify oci:// always checks signatures with --key and writes no --vsa")
	}
	keyOpts, err := verifyOptions(keys, *digestsOnly, *vsaOut != "")
	if err != nil {
		return err
	}
	var extra []verify.Option
	if *sha512 {
		extra = append(extra, verify.WithSHA512())
	}
	switch {
	case *expectVersion != "":
		extra = append(extra, verify.WithExpectedVersion(*expectVersion, *expectProject))
	case *expectProject != "":
		return usagef("--expect-project needs --expect-version")
	}
	if publish.IsTarget(pos[0]) {
		return verifyRemote(ctx, cli, rf, pos[0], keys, extra, *asJSON, *reportOut)
	}
	report, err := verify.Run(ctx, pos[0], append(keyOpts, extra...)...)
	if err != nil {
		return usageError(err)
	}
	if err := writeReport(cli, report, *asJSON, *reportOut); err != nil {
		return err
	}
	switch {
	case *vsaOut == "":
	case report.ManifestSHA256 == "":
		// No usable manifest, no subject to summarize: the verdict stands without a summary.
		cli.log.Warn("no verification summary written: the bundle has no usable manifest to name", "vsa", *vsaOut)
	default:
		if err := writeSummary(pos[0], report, *vsaOut, *vsaKey); err != nil {
			return err
		}
	}
	if !report.Verified {
		return gateFailed(fmt.Errorf("%s: %d problem(s) found; the release must not be used", pos[0], report.Failures()))
	}
	return nil
}

func writeReport(cli *cliEnv, report *verify.Report, asJSON bool, file string) error {
	data, err := report.JSON()
	if err != nil {
		return err
	}
	if file != "" {
		if err := atomicfile.WriteFile(file, data, 0o644); err != nil {
			return usageError(err)
		}
	}
	if asJSON {
		_, err = cli.stdout.Write(data)
		return err
	}
	report.WriteText(cli.stdout)
	return nil
}

// verifyOptions turns --key flags into the gate's signature checks. Without a key the gate
// does not run unless --digests-only says the caller knows that digests prove nothing
// against whoever can re-digest the release.
func verifyOptions(keyFiles []string, digestsOnly, vsa bool) ([]verify.Option, error) {
	switch {
	case digestsOnly && len(keyFiles) > 0:
		return nil, usagef("--digests-only and --key exclude each other: with a key every signature is checked")
	case digestsOnly && vsa:
		return nil, usagef("--vsa needs --key: a verification summary vouches for signatures, which only a trusted key can check")
	case digestsOnly:
		return []verify.Option{verify.WithDigestsOnlyUnsafe()}, nil
	case len(keyFiles) == 0:
		return nil, usagef("no trusted key: pass --key PUB, the release's public key obtained out of band (never one from the bundle); " +
			"without it a re-digested, re-signed release would pass. To check digests alone, say --digests-only")
	}
	pubs, err := trustedKeys(keyFiles)
	if err != nil {
		return nil, err
	}
	return []verify.Option{verify.WithKeys(pubs...)}, nil
}

// trustedKeys loads the --key public keys.
func trustedKeys(files []string) ([]*keys.PublicKey, error) {
	if len(files) == 0 {
		return nil, usagef("no trusted key: pass --key PUB, the release's public key obtained out of band")
	}
	return loadPublicKeys(files)
}

// loadPublicKeys reads PEM public keys; a file that is not one is a usage error naming it.
func loadPublicKeys(files []string) ([]*keys.PublicKey, error) {
	var pubs []*keys.PublicKey
	for _, f := range files {
		pub, err := keys.LoadPublic(f)
		if err != nil {
			return nil, usageError(err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

// verifyRemote is verify oci://HOST/REPO:VERSION: the bundle pulled by digest into a
// temporary directory, the same gate, plus the registry's image and its referrers. extra
// are the gate options after the keys.
func verifyRemote(ctx context.Context, cli *cliEnv, rf registryFlags, loc string, keyFiles []string, extra []verify.Option, asJSON bool, reportOut string) error {
	tg, err := rf.target(loc)
	if err != nil {
		return err
	}
	remote, err := rf.remote()
	if err != nil {
		return err
	}
	pubs, err := trustedKeys(keyFiles)
	if err != nil {
		return err
	}
	report, _, err := publish.Verify(ctx, tg, remote, pubs, extra...)
	if err != nil {
		return registryError(err)
	}
	if err := writeReport(cli, report, asJSON, reportOut); err != nil {
		return err
	}
	if !report.Verified {
		return gateFailed(fmt.Errorf("%s: %d problem(s) found; the release must not be used", loc, report.Failures()))
	}
	return nil
}
