package main

import (
	"context"
	"fmt"
	"path"

	"github.com/sentientos/reliquary/ci/internal/dagger"
	layout "github.com/sentientos/reliquary/pipeline/bundle"
)

// Release runs the whole pipeline on a Go project: the stages `reliquary release` runs.
//
// source, freeze, build, (reproduce,) digest, sign, attest, notes, audit, escrow and seal,
// each in its own container. The commit, remote, ref and commit time come from the
// checkout's .git; only source and notes see it. The bundle is handed out only after the
// provenance gate passes: release --source=. --version=v1.0.0 --signing-key=env://K bundle
// export --path=dist.
// +cache="never"
func (r *Reliquary) Release(
	ctx context.Context,
	// The project's git checkout: the directory holding go.mod and .git. dist is left out.
	// +ignore=["dist"]
	source *dagger.Directory,
	// Release version: vMAJOR.MINOR.PATCH, optionally -alpha.N, -beta.N or -rc.N.
	version string,
	// Private key that signs the release: cosign's encrypted format, or unencrypted PKCS#8
	// or SEC1 PEM (env://NAME, file://PATH, cmd://..., op://..., vault://...).
	signingKey *dagger.Secret,
	// Password of an encrypted signing key.
	// +optional
	keyPassword *dagger.Secret,
	// Target platforms, OS/ARCH (default: the project's reliquary.yaml, else the CLI's default).
	// +optional
	platforms []string,
	// Rebuild from a copy of the tree with an empty build cache and fail unless every
	// artifact is byte-identical; the result is signed into the bundle.
	// +optional
	checkReproducible bool,
	// Run the project's Go benchmarks, sign bench.json into the release, and fail on a
	// regression.
	// +optional
	bench bool,
	// Git ref to compare the benchmarks against, side by side (for example the previous tag).
	// +optional
	benchBaseline string,
	// Commit released (default: the checkout's HEAD).
	// +optional
	commit string,
	// Source repository URL (default: the checkout's remote origin).
	// +optional
	repository string,
	// Release time in Unix seconds (default: the commit time).
	// +optional
	sourceDateEpoch int,
	// Git ref released (default: refs/tags/VERSION).
	// +optional
	ref string,
	// OCI image layout tarball the image is built on (default: scratch, or reliquary.yaml's).
	// +optional
	imageBase *dagger.File,
	// This run's identity recorded in the provenance, for example the CI run's URL.
	// +optional
	invocationID string,
) (*Released, error) {
	p, err := r.Source(ctx, source, version, commit, repository, sourceDateEpoch, ref)
	if err != nil {
		return nil, err
	}
	f, err := p.Freeze(ctx)
	if err != nil {
		return nil, err
	}
	b, err := f.Build(ctx, platforms, imageBase)
	if err != nil {
		return nil, err
	}
	if checkReproducible {
		if b, err = b.Reproduce(ctx); err != nil {
			return nil, err
		}
	}
	if bench {
		if b, err = b.Bench(ctx, benchBaseline, nil, "5%"); err != nil {
			return nil, err
		}
	} else if benchBaseline != "" {
		return nil, fmt.Errorf("release: --bench-baseline needs --bench")
	}
	d, err := b.Digest(ctx)
	if err != nil {
		return nil, err
	}
	s, err := d.Sign(ctx, signingKey, keyPassword)
	if err != nil {
		return nil, err
	}
	a, err := s.Attest(ctx, invocationID)
	if err != nil {
		return nil, err
	}
	n, err := a.Notes(ctx)
	if err != nil {
		return nil, err
	}
	au, err := n.Audit(ctx)
	if err != nil {
		return nil, err
	}
	e, err := au.Escrow(ctx)
	if err != nil {
		return nil, err
	}
	return e.Seal(ctx)
}

// Replay rebuilds a release from its source and compares every artifact: the auditor's check.
//
// It verifies the bundle, checks that the source is the tree it attests, rebuilds with the parameters its provenance records (in a Go container, with an
// empty build cache) and compares every artifact. It fails, naming each artifact that
// differs, unless all of them match. Returns the comparison.
// +cache="never"
func (r *Reliquary) Replay(
	ctx context.Context,
	// The release bundle to reproduce.
	bundle *dagger.Directory,
	// The source tree at the commit the bundle attests. .git and dist are left out.
	// +ignore=[".git", "dist"]
	source *dagger.Directory,
	// The trusted public key (PEM) the release must be signed with.
	publicKey *dagger.File,
	// Rebuild with the module's shared build cache (faster; the result says so) instead of
	// an empty one: a replay that reuses the release's compiled packages proves less.
	// +optional
	reuseBuildCache bool,
) (string, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	c := r.goStage(img, source)
	args := []string{"replay", inPath, "--source", srcPath, "--key", pubPath}
	if reuseBuildCache {
		args = append(args, "--reuse-build-cache")
	} else {
		c = c.WithoutMount(buildCache) // and the CLI builds in an empty cache of its own
	}
	c = uncached(c).WithMountedDirectory(inPath, bundle).WithMountedFile(pubPath, publicKey)
	c, err = gate(ctx, c, args)
	if err != nil {
		return "", err
	}
	return c.Stdout(ctx)
}

// Promote re-issues a verified release candidate under its final version, without rebuilding.
//
// The artifacts keep their bytes; the manifest, signature and provenance are new.
// +cache="never"
func (r *Reliquary) Promote(
	ctx context.Context,
	// The release candidate's bundle (for example v1.0.0-rc.1).
	bundle *dagger.Directory,
	// The final version (for example v1.0.0).
	version string,
	// Private key that signs the promoted release.
	signingKey *dagger.Secret,
	// Password of an encrypted signing key.
	// +optional
	keyPassword *dagger.Secret,
	// Public key (PEM) the candidate must be signed with (default: the public half of the
	// signing key).
	// +optional
	candidateKey *dagger.File,
) (*Released, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	c := withSigningKey(r.runtimeStage(img, dag.Directory()), signingKey, keyPassword).
		WithMountedDirectory(inPath, bundle)
	args := append([]string{"promote", inPath, "--version", version, "--out", workPath}, signingArgs(keyPassword)...)
	if candidateKey != nil {
		c = c.WithMountedFile(pubPath, candidateKey)
		args = append(args, "--rc-key", pubPath)
	}
	c, err = run(ctx, uncached(c), args...)
	if err != nil {
		return nil, err
	}
	return r.gated(ctx, img, c.Directory(workPath))
}

// gated hands out a finished bundle only if the provenance gate passes over it, trusting
// the public keys it was signed with (the signing stage's own output).
func (r *Reliquary) gated(ctx context.Context, img *Images, work *dagger.Directory) (*Released, error) {
	pubs, err := work.Glob(ctx, layout.KeysDir+"/*.pub")
	if err != nil || len(pubs) == 0 {
		return nil, fmt.Errorf("bundle: no public key in keys/ to check the signatures with (%v)", err)
	}
	args := []string{"verify", workPath}
	for _, p := range pubs {
		args = append(args, "--key", path.Join(workPath, p))
	}
	c, err := gate(ctx, r.runtimeStage(img, work), args)
	if err != nil {
		return nil, err
	}
	report, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	return &Released{Bundle: work, Report: report}, nil
}

// Benchmarks are the result of a benchmark run.
type Benchmarks struct {
	// The comparison as text.
	Summary string
	// Samples, statistics and the gate's verdict (bench.json).
	Report *dagger.File
	// The comparison as a Markdown table, for release notes.
	Table *dagger.File
}

// Benchmark runs the project's Go benchmarks against a baseline and fails on a regression.
//
// Both sides run in one container, built once and measured interleaved on the same machine;
// a statistically significant slowdown beyond the threshold fails.
// +cache="never"
func (r *Reliquary) Benchmark(
	ctx context.Context,
	// The project's source tree, with its .git (the baseline is checked out from it).
	// +ignore=["dist"]
	source *dagger.Directory,
	// Git ref or commit to compare against, for example the last release tag (default: no
	// comparison, only samples).
	// +optional
	baselineRef string,
	// Package patterns to benchmark (default: ./...).
	// +optional
	packages []string,
	// Fail when sec/op gets significantly worse by more than this.
	// +optional
	// +default="5%"
	threshold string,
) (*Benchmarks, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	report, table := path.Join(workPath, layout.BenchFile), path.Join(workPath, "bench.md")
	args := append(append([]string{"bench"}, benchArgs(report, baselineRef, packages, threshold)...), "--markdown", table)
	c := uncached(r.goStage(img, source)).WithMountedDirectory(workPath, dag.Directory())
	c, err = gate(ctx, c, args)
	if err != nil {
		return nil, err
	}
	summary, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	return &Benchmarks{Summary: summary, Report: c.File(report), Table: c.File(table)}, nil
}
