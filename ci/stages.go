package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/sentientos/reliquary/ci/internal/dagger"
	layout "github.com/sentientos/reliquary/pipeline/bundle"
)

// Project is a Go project selected for release, with the facts the release records about it.
// Next stage: freeze.
type Project struct {
	Tools *Reliquary // +private
	// The base images every stage runs in, pinned by digest.
	Images *Images // +private
	// The project's source tree without .git: all that freeze and build see, so their
	// cache keys depend on the tree alone.
	Tree *dagger.Directory
	// The checkout with its .git, for the stages that read the history (source, notes).
	Checkout *dagger.Directory // +private
	// Project name recorded in the manifest (reliquary.yaml's, else the module's binary name).
	Name string
	// Release version.
	Version string
	// Source commit recorded in the manifest and provenance.
	Commit string
	// Source repository URL recorded in the manifest and provenance.
	Repository string
	// Release time in Unix seconds (the commit time): the time of every file in the artifacts.
	SourceDateEpoch int
	// Git ref released (for example refs/tags/v1.0.0), recorded in the provenance.
	Ref string
}

// described is what `reliquary describe` prints.
type described struct {
	Project         string `json:"project"`
	Version         string `json:"version"`
	Commit          string `json:"commit"`
	Repository      string `json:"repository"`
	Ref             string `json:"ref"`
	SourceDateEpoch int    `json:"sourceDateEpoch"`
}

// Source selects the Go project to release, the first stage, reading its facts from .git.
//
// The commit, remote, ref, commit time and release tags come from the checkout's .git
// (each may be given instead); the version is checked against the tags. Its functions are
// the next stages: source ... freeze build digest sign --key=env://K attest notes audit
// escrow seal bundle.
func (r *Reliquary) Source(
	ctx context.Context,
	// The project's git checkout: the directory holding go.mod and .git. dist is left out.
	// +ignore=["dist"]
	dir *dagger.Directory,
	// Release version: vMAJOR.MINOR.PATCH, optionally -alpha.N, -beta.N or -rc.N.
	version string,
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
) (*Project, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	args := []string{"describe", srcPath, "--version", version}
	for _, f := range []struct{ flag, val string }{{"--commit", commit}, {"--source-repo", repository}, {"--ref", ref}} {
		if f.val != "" {
			args = append(args, f.flag, f.val)
		}
	}
	if sourceDateEpoch > 0 {
		args = append(args, "--source-date-epoch", strconv.Itoa(sourceDateEpoch))
	}
	c, err := run(ctx, r.gitStage(img, dir), args...)
	if err != nil {
		return nil, err
	}
	out, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	var d described
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return nil, fmt.Errorf("source: reliquary describe printed no description: %v", err)
	}
	return &Project{Tools: r, Images: img, Tree: withoutGit(dir), Checkout: dir, Name: d.Project,
		Version: d.Version, Commit: d.Commit, Repository: d.Repository, SourceDateEpoch: d.SourceDateEpoch, Ref: d.Ref}, nil
}

// withoutGit is dir without its .git. Filter, unlike WithoutDirectory, keeps the engine's
// content hashing of an uploaded directory, so the stages given the tree are cached by its
// content: a new commit that changes no file reuses freeze and the build's layers.
func withoutGit(dir *dagger.Directory) *dagger.Directory {
	return dir.Filter(dagger.DirectoryFilterOpts{Exclude: []string{".git"}})
}

// Frozen is a project whose dependency set is checked and recorded (deps.lock.json), with
// its base images pinned. Next stage: build.
type Frozen struct {
	Project *Project // +private
	// The base images every later stage runs in, pinned by digest.
	Images *Images
	// The bundle in progress.
	Work *dagger.Directory // +private
	// The stage records so far (freeze.json), outside the bundle.
	Records *dagger.Directory // +private
}

// Freeze checks and records the dependency set (deps.lock.json) and pins the base images.
//
// It checks that go.mod and go.sum are tidy and complete, downloads every module into
// the module cache (the only stage with network access to the module proxy), pins the base
// images and writes deps.lock.json.
func (p *Project) Freeze(ctx context.Context) (*Frozen, error) {
	img := p.Images
	c := p.Tools.goStage(img, p.Tree).WithMountedDirectory(workPath, dag.Directory()).
		WithMountedDirectory(recordsPath, dag.Directory()).
		WithMountedCache(binCachePath, p.Tools.BinaryCache)
	// The verify memo lives beside the binaries, as the local runner keeps it: go mod verify
	// runs again only when the module cache changed.
	c, err := run(ctx, c, "freeze", srcPath, "--out", path.Join(workPath, layout.DepsLockFile),
		"--image", img.Toolchain, "--image", img.Runtime, "--record", path.Join(recordsPath, "freeze.json"),
		"--verify-memo", path.Join(binCachePath, "verified"))
	if err != nil {
		return nil, err
	}
	return &Frozen{Project: p, Images: img, Work: c.Directory(workPath), Records: c.Directory(recordsPath)}, nil
}

// Lock is the frozen dependency set, deps.lock.json.
func (f *Frozen) Lock() *dagger.File {
	return f.Work.File(layout.DepsLockFile)
}

// Built holds a project's release artifacts, built reproducibly. Next stage: digest (or
// reproduce first).
type Built struct {
	Frozen *Frozen // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
	// The freeze and build records and the build's report, outside the bundle.
	Records *dagger.Directory // +private
	// The build's flags, which a rebuild repeats.
	Args []string // +private
	// The image base the build used, if any.
	ImageBase *dagger.File // +private
	// Whether the reproducibility check ran and passed.
	Reproduced bool
	// Whether the benchmarks ran and passed (bench.json is in the bundle).
	Benchmarked bool
}

// Build compiles and packages the project for every platform, reproducibly.
//
// It cross-compiles (CGO_ENABLED=0, -trimpath, no build ID, version and commit stamped) with
// the module proxy off, and packages archives, an OCI image of the binaries and a docs bundle
// into artifacts/. Same source, same bytes.
func (f *Frozen) Build(
	ctx context.Context,
	// Target platforms, OS/ARCH (default: the project's reliquary.yaml, else linux/amd64,
	// linux/arm64, darwin/arm64 and windows/amd64).
	// +optional
	platforms []string,
	// OCI image layout tarball the image is built on (default: scratch, or reliquary.yaml's).
	// +optional
	imageBase *dagger.File,
) (*Built, error) {
	p := f.Project
	args := buildArgs(p, platforms, imageBase)
	c := withBuildInputs(p.Tools.goStage(f.Images, p.Tree), imageBase).
		WithMountedCache(binCachePath, p.Tools.BinaryCache).
		WithMountedDirectory(workPath, f.Work).WithMountedDirectory(recordsPath, f.Records)
	c, err := run(ctx, c, append([]string{"build", srcPath, "--out", workPath, "--binary-cache", binCachePath,
		"--record", path.Join(recordsPath, "build.json"), "--report", path.Join(recordsPath, buildReport)}, args...)...)
	if err != nil {
		return nil, err
	}
	return &Built{Frozen: f, Work: c.Directory(workPath), Records: c.Directory(recordsPath), Args: args, ImageBase: imageBase}, nil
}

// buildReport is the build's full record (commands, environment, artifacts), kept with the
// stage records: reproduce compares against it and audit checks its environment.
const buildReport = "build-report.json"

// buildArgs are the flags build and reproduce share: the same inputs must give the same bytes.
func buildArgs(p *Project, platforms []string, imageBase *dagger.File) []string {
	args := []string{"--version", p.Version, "--lock", path.Join(workPath, layout.DepsLockFile), "--commit", p.Commit,
		"--source-date-epoch", strconv.Itoa(p.SourceDateEpoch)}
	if p.Repository != "" {
		args = append(args, "--repository", p.Repository)
	}
	if len(platforms) > 0 {
		args = append(args, "--platforms", strings.Join(platforms, ","))
	}
	if imageBase != nil {
		args = append(args, "--image-base", imageBasePath)
	}
	return args
}

// withBuildInputs turns the module proxy off (the build runs against the frozen module
// cache) and mounts the image base, if any.
func withBuildInputs(c *dagger.Container, imageBase *dagger.File) *dagger.Container {
	c = c.WithEnvVariable("GOPROXY", "off")
	if imageBase != nil {
		c = c.WithMountedFile(imageBasePath, imageBase)
	}
	return c
}

// recorded are the stages that left a record by the time the manifest is signed, in order.
func (b *Built) recorded() []string {
	stages := []string{"freeze", "build"}
	if b.Benchmarked {
		stages = append(stages, "bench")
	}
	return append(stages, "digest", "sign")
}

// Artifacts are the built files: archives, the OCI image tarball and the docs bundle.
func (b *Built) Artifacts() *dagger.Directory {
	return b.Work.Directory(layout.ArtifactsDir)
}

// Reproduce rebuilds the project from a copy of its tree in another directory, with an
// empty build cache and the same flags, and fails unless every artifact is byte-identical.
//
// The comparison is signed into the bundle by attest (reproducibility.sigstore.json).
// +cache="never"
func (b *Built) Reproduce(ctx context.Context) (*Built, error) {
	p := b.Frozen.Project
	// No shared build cache: a rebuild that reuses the first build's packages proves less.
	c := withBuildInputs(p.Tools.goStage(b.Frozen.Images, p.Tree).WithoutMount(buildCache), b.ImageBase).
		WithMountedDirectory(workPath, b.Work).WithMountedDirectory(recordsPath, b.Records)
	args := append([]string{"reproduce", srcPath, "--against", workPath, "--build-report", path.Join(recordsPath, buildReport),
		"--result", path.Join(recordsPath, reproductionFile)}, b.Args...)
	c, err := gate(ctx, uncached(c), args)
	if err != nil {
		return nil, err
	}
	out := *b
	out.Records, out.Reproduced = c.Directory(recordsPath), true
	return &out, nil
}

// reproductionFile is reproduce's comparison, which attest signs.
const reproductionFile = "reproduction.json"

// Bench runs the project's Go benchmarks (against a baseline ref, side by side, when given)
// into bench.json and fails on a regression; attest signs the result.
//
// The benchmarks run the project's code, so this container never holds the signing key.
// +cache="never"
func (b *Built) Bench(
	ctx context.Context,
	// Git ref or commit to compare against, for example the previous release tag (default:
	// no comparison, only samples).
	// +optional
	baselineRef string,
	// Package patterns to benchmark (default: ./...).
	// +optional
	packages []string,
	// Fail when sec/op gets significantly worse by more than this.
	// +optional
	// +default="5%"
	threshold string,
) (*Built, error) {
	p := b.Frozen.Project
	args := append([]string{"bench"}, benchArgs(path.Join(workPath, layout.BenchFile), baselineRef, packages, threshold)...)
	args = append(args, "--record", path.Join(recordsPath, "bench.json"))
	c := p.Tools.goStage(p.Images, p.Checkout).WithMountedDirectory(workPath, b.Work).WithMountedDirectory(recordsPath, b.Records)
	c, err := gate(ctx, uncached(c), args)
	if err != nil {
		return nil, err
	}
	out := *b
	out.Work, out.Records, out.Benchmarked = c.Directory(workPath), c.Directory(recordsPath), true
	return &out, nil
}

// benchArgs are the flags of `reliquary bench` over the checkout at srcPath.
func benchArgs(report, baselineRef string, packages []string, threshold string) []string {
	args := []string{"--source", srcPath, "--out", report, "--threshold", threshold}
	if baselineRef != "" {
		args = append(args, "--baseline-ref", baselineRef)
	}
	if len(packages) > 0 {
		args = append(args, "--packages", strings.Join(packages, ","))
	}
	return args
}

// Digested is a release whose files are hashed into the immutability manifest. Next stage:
// sign.
type Digested struct {
	Built *Built // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
	// The freeze, build and digest records, outside the bundle.
	Records *dagger.Directory // +private
}

// Digest writes the immutability manifest (manifest.json) and SHA256SUMS.
//
// It hashes every file of the release (SHA-256, as the local runner does), recording the
// source, the base images and the attestations the gate will require.
func (b *Built) Digest(ctx context.Context) (*Digested, error) {
	f := b.Frozen
	p := f.Project
	expect := "provenance,links,escrow"
	if b.Reproduced {
		expect += ",reproducibility"
	}
	if b.Benchmarked {
		expect += ",benchmark"
	}
	args := []string{"digest", workPath, "--version", p.Version, "--project", p.Name,
		"--source-commit", p.Commit, "--expect", expect,
		"--lock", path.Join(workPath, layout.DepsLockFile), "--source-tree", srcPath,
		"--record", path.Join(recordsPath, "digest.json")}
	if p.Repository != "" {
		args = append(args, "--source-repo", p.Repository)
	}
	c := withRecords(p.Tools.runtimeStage(f.Images, b.Work), b.Records).WithMountedDirectory(srcPath, p.Tree)
	c, err := run(ctx, c, args...)
	if err != nil {
		return nil, err
	}
	return &Digested{Built: b, Work: c.Directory(workPath), Records: c.Directory(recordsPath)}, nil
}

// Manifest is the immutability manifest, manifest.json.
func (d *Digested) Manifest() *dagger.File {
	return d.Work.File(layout.ManifestFile)
}

// Checksums is SHA256SUMS, for sha256sum -c.
func (d *Digested) Checksums() *dagger.File {
	return d.Work.File(layout.ChecksumsFile)
}

// Signed is a release whose manifest is signed. Next stage: attest.
type Signed struct {
	Digested *Digested // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
	// Signing key, mounted as a file for the stages that sign.
	Key *dagger.Secret // +private
	// Password of the signing key, mounted as a file.
	Password *dagger.Secret // +private
	// Every earlier stage's record, outside the bundle.
	Records *dagger.Directory // +private
}

// Sign signs the manifest (a Sigstore bundle, v0.3) and ships the public key in keys/.
//
// The key is mounted as a file readable only by the stage's user; it never enters the
// environment, the command line, a layer or the bundle.
// +cache="never"
func (d *Digested) Sign(
	ctx context.Context,
	// Private key: cosign's encrypted format, or unencrypted PKCS#8 or SEC1 PEM
	// (env://NAME, file://PATH, cmd://..., op://..., vault://...).
	key *dagger.Secret,
	// Password of an encrypted key.
	// +optional
	password *dagger.Secret,
) (*Signed, error) {
	img := d.Built.Frozen.Images
	c := withRecords(withSigningKey(d.Built.Frozen.Project.Tools.runtimeStage(img, d.Work), key, password), d.Records)
	args := append([]string{"sign", workPath, "--record", path.Join(recordsPath, "sign.json")}, signingArgs(password)...)
	c, err := run(ctx, uncached(c), args...)
	if err != nil {
		return nil, err
	}
	return &Signed{Digested: d, Work: c.Directory(workPath), Key: key, Password: password, Records: c.Directory(recordsPath)}, nil
}

// Attested is a signed and attested release. Next stage: notes.
type Attested struct {
	Signed *Signed // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
}

// Attest writes the signed SLSA provenance, in-toto links and layout, with the signing key.
//
// Every artifact is a subject, the commit time is the build time, and the key is the one
// given to sign. A reproducibility result is signed too.
// +cache="never"
func (s *Signed) Attest(
	ctx context.Context,
	// This run's identity recorded in the provenance, for example the CI run's URL (default:
	// derived from the commit and version).
	// +optional
	invocationID string,
) (*Attested, error) {
	b := s.Digested.Built
	p := b.Frozen.Project
	args := append([]string{"attest", workPath, "--builder-id", builderDagger, "--source-ref", p.Ref},
		signingArgs(s.Password)...)
	for _, r := range b.recorded() {
		args = append(args, "--stage-record", path.Join(recordsPath, r+".json"))
	}
	if b.Reproduced {
		args = append(args, "--reproduction", path.Join(recordsPath, reproductionFile))
	}
	if b.Benchmarked {
		args = append(args, "--bench")
	}
	if invocationID != "" {
		args = append(args, "--invocation-id", invocationID)
	}
	c := withRecords(s.stage(), s.Records)
	c, err := run(ctx, c, args...)
	if err != nil {
		return nil, err
	}
	return &Attested{Signed: s, Work: c.Directory(workPath)}, nil
}

// stage is a runtime container for a stage that signs: the bundle in progress (work when
// given), the key mounted, and the release time in SOURCE_DATE_EPOCH. Its exec always runs:
// a signature is made now, never replayed from the cache.
func (s *Signed) stage(work ...*dagger.Directory) *dagger.Container {
	p := s.Digested.Built.Frozen.Project
	w := s.Work
	if len(work) > 0 {
		w = work[0]
	}
	return uncached(withSigningKey(p.Tools.runtimeStage(p.Images, w), s.Key, s.Password).
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.Itoa(p.SourceDateEpoch)))
}

// Noted is an attested release with its notes and changelog. Next stage: audit.
type Noted struct {
	Attested *Attested // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
}

// Notes writes RELEASE_NOTES.md and CHANGELOG.md from the git history since the previous
// release tag, with the verification trail of the bundle.
//
// Only this stage (and source) sees .git. A shallow checkout that does not reach the
// previous release tag fails with how to fetch the history, never with wrong notes.
func (a *Attested) Notes(ctx context.Context) (*Noted, error) {
	p := a.Signed.Digested.Built.Frozen.Project
	c := p.Tools.gitStage(p.Images, p.Checkout).WithMountedDirectory(workPath, a.Work).
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.Itoa(p.SourceDateEpoch))
	c, err := run(ctx, c, "notes", "--in-bundle", "--source", srcPath, "--version", p.Version, "--commit", p.Commit,
		"--bundle", workPath, "--bundle-name", "dist", "--key", path.Join(workPath, layout.KeysDir, releasePub))
	if err != nil {
		return nil, err
	}
	return &Noted{Attested: a, Work: c.Directory(workPath)}, nil
}

// releasePub is the public key the sign stage ships in keys/ (keyPath's stem).
const releasePub = "release.pub"

// Audited is a release with its audit summary. Next stage: escrow.
type Audited struct {
	Noted *Noted // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
}

// Audit runs the least-privilege audit and a gate pass over the bundle so far, and writes
// audit_summary.md (every stage's command, times and digests).
func (n *Noted) Audit(ctx context.Context) (*Audited, error) {
	s := n.Attested.Signed
	p := s.Digested.Built.Frozen.Project
	args := []string{"audit", workPath, "--source", srcPath, "--key", path.Join(workPath, layout.KeysDir, releasePub),
		"--build-report", path.Join(recordsPath, buildReport)}
	for _, r := range s.Digested.Built.recorded() {
		args = append(args, "--stage-record", path.Join(recordsPath, r+".json"))
	}
	c := withRecords(p.Tools.runtimeStage(p.Images, n.Work), s.Records).
		WithMountedDirectory(srcPath, p.Tree).
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.Itoa(p.SourceDateEpoch))
	c, err := gate(ctx, c, args)
	if err != nil {
		return nil, err
	}
	return &Audited{Noted: n, Work: c.Directory(workPath)}, nil
}

// Escrowed is a release with its signed escrow archive. Next stage: seal.
type Escrowed struct {
	Audited *Audited // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
}

// Escrow archives the release's records (manifest, sums, signatures, provenance, notes,
// changelog, audit summary) into escrow.tar.gz and signs it, for long-term escrow.
// +cache="never"
func (a *Audited) Escrow(ctx context.Context) (*Escrowed, error) {
	s := a.Noted.Attested.Signed
	c, err := run(ctx, s.stage(a.Work), append([]string{"escrow", workPath}, signingArgs(s.Password)...)...)
	if err != nil {
		return nil, err
	}
	return &Escrowed{Audited: a, Work: c.Directory(workPath)}, nil
}

// Released is a finished release: sealed by the provenance gate.
type Released struct {
	// The release bundle, verified: export it with bundle export --path=dist.
	Bundle *dagger.Directory
	// The gate's report.
	Report string
}

// Seal runs the provenance gate over the finished bundle, trusting only the signing key,
// and adds its report (verification.json) and the signed verification summary.
//
// The bundle is handed out only if the gate passes.
// +cache="never"
func (e *Escrowed) Seal(ctx context.Context) (*Released, error) {
	s := e.Audited.Noted.Attested.Signed
	c, err := gate(ctx, s.stage(e.Work), append([]string{"seal", workPath}, signingArgs(s.Password)...))
	if err != nil {
		return nil, err
	}
	report, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	return &Released{Bundle: c.Directory(workPath), Report: report}, nil
}

// withRecords mounts the stage records so far where a runtime stage, which runs as stageUser,
// can add its own.
func withRecords(c *dagger.Container, records *dagger.Directory) *dagger.Container {
	return c.WithMountedDirectory(recordsPath, records, dagger.ContainerWithMountedDirectoryOpts{Owner: stageUser})
}
