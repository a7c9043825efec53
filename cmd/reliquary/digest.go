package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
)

func runDigest(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "digest", "DIR")
	project := fs.String("project", "", "project name recorded in the manifest (default: DIR's base name)")
	version := fs.String("version", "", "release version recorded in the manifest (required)")
	commit := fs.String("source-commit", "", "source commit the release was built from")
	repo := fs.String("source-repo", "", "source repository URL")
	sha512 := fs.Bool("sha512", false, "also record SHA-512 digests (about 3x slower on CPUs with SHA-256 instructions; SHA-256 alone binds every file)")
	fs.Bool("sha256-only", true, "the default; kept so older scripts still run")
	lockFile := fs.String("lock", "", "deps.lock.json the release was frozen with: records its digest, toolchain and base images, which the provenance then names")
	tree := fs.String("source-tree", "", "the source directory the release was built from: records its tree digest, which replay checks")
	record := fs.String("record", "", recordUsage)
	var expect stringList
	fs.Var(&expect, "expect", "attestation kinds the release will carry, which the gate then requires (provenance,links,benchmark,reproducibility,escrow; sbom is declared by itself when the release has sboms/)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *version == "" {
		return usagef("--version is required (the version this release is cut as, e.g. v1.0.0)")
	}
	if err := checkRecordPath("--record", *record, pos[0]); err != nil {
		return err
	}
	start := time.Now()
	in := digest.Input{
		Dir: pos[0], Project: orDefault(*project, baseName(pos[0])), Version: *version,
		Source:       bundle.Source{Repository: *repo, Commit: *commit},
		Attestations: expect, Algorithms: digest.SHA256Only,
	}
	if *sha512 {
		in.Algorithms = digest.WithSHA512
	}
	if err := buildFacts(&in, *lockFile, *tree); err != nil {
		return err
	}
	if stderrIsTerminal(cli) {
		in.Progress = progressPrinter(cli, "hashing")
	}
	out, err := digest.Run(ctx, in)
	if err != nil {
		return usageError(err)
	}
	if err := writeStageRecord(*record, "digest", start, trail.DigestStep(os.Args, pos[0], out.Manifest.Artifacts)); err != nil {
		return err
	}
	var total int64
	for _, a := range out.Manifest.Artifacts {
		total += a.Size
	}
	cli.log.Info("digested", "dir", pos[0], "files", len(out.Manifest.Artifacts), "bytes", total, "manifest_sha256", out.ManifestSHA256)
	for _, w := range out.Written {
		fmt.Fprintln(cli.stdout, joinPath(pos[0], w))
	}
	return nil
}

// buildFacts records in the manifest what the stand-alone stages knew about the build (the
// release runner knows it itself): the frozen dependency set, the toolchain and base images
// from the lock, and the source tree's digest. attest copies them into the provenance.
func buildFacts(in *digest.Input, lockFile, tree string) error {
	if lockFile != "" {
		lock, err := freeze.ReadLock(lockFile)
		if err != nil {
			return usageError(err)
		}
		in.Dependencies, in.Toolchain = lock.Digest, lock.Toolchain.Version()
		for _, im := range lock.Images {
			in.BaseImages = append(in.BaseImages, bundle.Image{Name: im.Name, Digest: im.Digest})
		}
	}
	if tree != "" {
		d, err := source.TreeDigest(tree, source.DefaultExcludes)
		if err != nil {
			return usageError(fmt.Errorf("--source-tree: %w", err))
		}
		in.Source.TreeDigest = d
	}
	return nil
}
