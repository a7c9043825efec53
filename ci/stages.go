package main

import (
	"context"
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
	// The project's source tree.
	Source *dagger.Directory
	// Project name recorded in the manifest.
	Name string
	// Release version.
	Version string
	// Source commit recorded in the manifest and provenance.
	Commit string
	// Source repository URL recorded in the manifest and provenance.
	Repository string
	// Commit time in Unix seconds: the time of every file in the artifacts.
	SourceDateEpoch int
	// Git ref built (for example refs/tags/v1.0.0), recorded in the provenance.
	Ref string
}

// Source selects the Go project to release: the first stage.
//
// Its functions are the next stages: source ... freeze build digest sign --key=env://K attest
// bundle.
func (r *Reliquary) Source(
	ctx context.Context,
	// The project's source tree: the directory holding go.mod. .git and dist are left out,
	// the same names the source tree digest leaves out.
	// +ignore=[".git", "dist"]
	dir *dagger.Directory,
	// Release version: vMAJOR.MINOR.PATCH, optionally -alpha.N, -beta.N or -rc.N.
	version string,
	// Commit the source is at (git rev-parse HEAD): recorded in the manifest, the provenance
	// and the binaries. .git is not sent to the engine, so the commit is passed.
	commit string,
	// Source repository URL (git remote get-url origin), recorded in the manifest and the
	// provenance.
	repository string,
	// Commit time in Unix seconds (git log -1 --format=%ct): the time of every file in the
	// artifacts, since builds never use the wall clock.
	sourceDateEpoch int,
	// Git ref built, for example refs/tags/v1.0.0, recorded in the provenance.
	// +optional
	ref string,
	// Project name (default: the last element of the module path in go.mod).
	// +optional
	name string,
) (*Project, error) {
	if sourceDateEpoch <= 0 || commit == "" || repository == "" {
		return nil, fmt.Errorf("source: a release names its source: pass --commit=$(git rev-parse HEAD) "+
			"--repository=$(git remote get-url origin) --source-date-epoch=$(git log -1 --format=%%ct) "+
			"(got commit %q, repository %q, source-date-epoch %d)", commit, repository, sourceDateEpoch)
	}
	if name == "" {
		var err error
		if name, err = moduleName(ctx, dir); err != nil {
			return nil, err
		}
	}
	return &Project{Tools: r, Source: dir, Name: name, Version: version, Commit: commit,
		Repository: repository, SourceDateEpoch: sourceDateEpoch, Ref: ref}, nil
}

// moduleName is the last element of the module path declared in dir/go.mod.
func moduleName(ctx context.Context, dir *dagger.Directory) (string, error) {
	gomod, err := dir.File("go.mod").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("source: go.mod: %w", err)
	}
	for _, line := range strings.Split(gomod, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return path.Base(strings.Trim(f[1], `"`)), nil
		}
	}
	return "", fmt.Errorf("source: go.mod has no module line; pass --name")
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
	img, err := p.Tools.pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	c := p.Tools.goStage(img, p.Source).WithMountedDirectory(workPath, dag.Directory()).
		WithMountedDirectory(recordsPath, dag.Directory())
	c, err = run(ctx, c, "freeze", srcPath, "--out", path.Join(workPath, layout.DepsLockFile),
		"--image", img.Toolchain, "--image", img.Runtime, "--record", path.Join(recordsPath, "freeze.json"))
	if err != nil {
		return nil, err
	}
	return &Frozen{Project: p, Images: img, Work: c.Directory(workPath), Records: c.Directory(recordsPath)}, nil
}

// Lock is the frozen dependency set, deps.lock.json.
func (f *Frozen) Lock() *dagger.File {
	return f.Work.File(layout.DepsLockFile)
}

// Built holds a project's release artifacts, built reproducibly. Next stage: digest.
type Built struct {
	Frozen *Frozen // +private
	// The bundle in progress.
	Work *dagger.Directory // +private
	// The freeze and build records, outside the bundle.
	Records *dagger.Directory // +private
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
	c, err := f.build(ctx, f.Project.Tools.goStage(f.Images, f.Project.Source), platforms, imageBase)
	if err != nil {
		return nil, err
	}
	return &Built{Frozen: f, Work: c.Directory(workPath), Records: c.Directory(recordsPath)}, nil
}

// build runs the build stage in c with the module proxy off, checked against the lock.
func (f *Frozen) build(ctx context.Context, c *dagger.Container, platforms []string, imageBase *dagger.File) (*dagger.Container, error) {
	p := f.Project
	args := []string{"build", srcPath, "--version", p.Version, "--out", workPath,
		"--lock", path.Join(workPath, layout.DepsLockFile), "--commit", p.Commit,
		"--repository", p.Repository, "--source-date-epoch", strconv.Itoa(p.SourceDateEpoch),
		"--record", path.Join(recordsPath, "build.json")}
	if len(platforms) > 0 {
		args = append(args, "--platforms", strings.Join(platforms, ","))
	}
	if imageBase != nil {
		c = c.WithMountedFile("/image-base.oci.tar", imageBase)
		args = append(args, "--image-base", "/image-base.oci.tar")
	}
	c = c.WithEnvVariable("GOPROXY", "off").WithMountedDirectory(workPath, f.Work).
		WithMountedDirectory(recordsPath, f.Records)
	return run(ctx, c, args...)
}

// Artifacts are the built files: archives, the OCI image tarball and the docs bundle.
func (b *Built) Artifacts() *dagger.Directory {
	return b.Work.Directory(layout.ArtifactsDir)
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
// It hashes every file of the release (SHA-256 and SHA-512), recording the source, the base images and the attestations the gate will
// require.
func (b *Built) Digest(ctx context.Context) (*Digested, error) {
	f := b.Frozen
	p := f.Project
	args := []string{"digest", workPath, "--version", p.Version, "--project", p.Name,
		"--source-commit", p.Commit, "--source-repo", p.Repository, "--expect", "provenance,links",
		"--lock", path.Join(workPath, layout.DepsLockFile), "--source-tree", srcPath,
		"--record", path.Join(recordsPath, "digest.json")}
	c := withRecords(p.Tools.runtimeStage(f.Images, b.Work), b.Records).WithMountedDirectory(srcPath, p.Source)
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

// Attested is a signed and attested release. Its bundle is handed out only after the
// provenance gate passes.
type Attested struct {
	Tools  *Reliquary // +private
	Images *Images    // +private
	// The finished bundle, before the gate.
	Work *dagger.Directory // +private
}

// Attest writes the signed SLSA provenance, in-toto links and layout, with the signing key.
//
// Every artifact is a subject, the commit time is the build time, and the key is the one
// given to sign.
// +cache="never"
func (s *Signed) Attest(
	ctx context.Context,
	// This run's identity recorded in the provenance, for example the CI run's URL (default:
	// derived from the commit and version).
	// +optional
	invocationID string,
) (*Attested, error) {
	f := s.Digested.Built.Frozen
	p := f.Project
	args := append([]string{"attest", workPath, "--builder-id", builderDagger,
		"--stage-record", path.Join(recordsPath, "freeze.json"), "--stage-record", path.Join(recordsPath, "build.json"),
		"--stage-record", path.Join(recordsPath, "digest.json"), "--stage-record", path.Join(recordsPath, "sign.json")},
		signingArgs(s.Password)...)
	if p.Ref != "" {
		args = append(args, "--source-ref", p.Ref)
	}
	if invocationID != "" {
		args = append(args, "--invocation-id", invocationID)
	}
	c := withSigningKey(p.Tools.runtimeStage(f.Images, s.Work), s.Key, s.Password).
		WithMountedDirectory(recordsPath, s.Records).
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.Itoa(p.SourceDateEpoch))
	c, err := run(ctx, uncached(c), args...)
	if err != nil {
		return nil, err
	}
	return &Attested{Tools: f.Project.Tools, Images: f.Images, Work: c.Directory(workPath)}, nil
}

// Bundle returns the finished release bundle, only if the provenance gate passes.
//
// The gate runs with the public keys the release was signed with.
func (a *Attested) Bundle(ctx context.Context) (*dagger.Directory, error) {
	pubs, err := a.Work.Glob(ctx, layout.KeysDir+"/*.pub")
	if err != nil || len(pubs) == 0 {
		return nil, fmt.Errorf("bundle: no public key in keys/ to check the signatures with (%v)", err)
	}
	c := a.Tools.runtimeStage(a.Images, a.Work)
	args := []string{"verify", workPath}
	for _, p := range pubs {
		args = append(args, "--key", path.Join(workPath, p))
	}
	if _, err := gate(ctx, c, args); err != nil {
		return nil, err
	}
	return a.Work, nil
}

// withRecords mounts the stage records so far where a runtime stage, which runs as stageUser,
// can add its own.
func withRecords(c *dagger.Container, records *dagger.Directory) *dagger.Container {
	return c.WithMountedDirectory(recordsPath, records, dagger.ContainerWithMountedDirectoryOpts{Owner: stageUser})
}
