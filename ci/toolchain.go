package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sentientos/reliquary/ci/internal/dagger"
)

// Paths inside stage containers.
const (
	cliPath  = "/usr/local/bin/reliquary"
	srcPath  = "/src"  // the project's source, as given
	workPath = "/work" // the bundle being produced, carried from stage to stage
	inPath   = "/in"   // a bundle given to a stage as input (verify, replay, promote)
	// The freeze and build stages' records (their argv, inputs and outputs), kept out of
	// the bundle; attest turns them into the freeze and build in-toto links.
	recordsPath = "/records"
	// keyPath's stem names the public key the bundle ships: keys/release.pub.
	keyPath  = "/run/secrets/release.key"
	passPath = "/run/secrets/release.key.password"
	pubPath  = "/run/keys/trusted.pub"
	// imageBasePath is where build and reproduce find an image base given as a file.
	imageBasePath = "/image-base.oci.tar"
	modCache      = "/cache/go-mod"
	buildCache    = "/cache/go-build"
	// binCachePath holds the binary cache (and freeze's verify memo, in verified/); the
	// freeze and build stages mount it.
	binCachePath = "/cache/bin"
	// stageUser runs every stage that holds a secret; secrets are mounted readable by it alone.
	stageUser = "65532:65532"
	// secretMode is 0400: the stage's user may read the secret, nobody may write it.
	secretMode = 0o400
)

// builderDagger is the SLSA builder id of releases built by this module.
const builderDagger = "https://reliquary.dev/builders/dagger/v1"

// Images are the base images of a release, pinned by digest: every container of the release
// is made from these references, and freeze records them in deps.lock.json.
type Images struct {
	// Go toolchain image, NAME@sha256:HEX.
	Toolchain string
	// Runtime image, NAME@sha256:HEX.
	Runtime string
}

// pin resolves the configured base images to digests. Images from tarballs are named by the
// tarball's OCI index, so the provenance records what was used even without a registry.
func (r *Reliquary) pin(ctx context.Context) (*Images, error) {
	goRef, err := r.pinOne(ctx, r.GoImage, r.GoImageTarball)
	if err != nil {
		return nil, fmt.Errorf("go image: %w", err)
	}
	img := &Images{Toolchain: goRef}
	img.Runtime, err = r.pinOne(ctx, r.RuntimeImage, r.RuntimeImageTarball)
	if err != nil {
		return nil, fmt.Errorf("runtime image: %w", err)
	}
	return img, nil
}

// unpinned names the configured images as given, for stages whose result does not record
// them (verify): no registry round trip.
func (r *Reliquary) unpinned() *Images {
	return &Images{Toolchain: r.GoImage, Runtime: r.RuntimeImage}
}

func (r *Reliquary) pinOne(ctx context.Context, ref string, tarball *dagger.File) (string, error) {
	if tarball != nil {
		return r.tarballRef(ctx, tarball)
	}
	pinned, err := dag.Container().From(ref).ImageRef(ctx)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return withoutTag(pinned), nil
}

// withoutTag turns NAME:TAG@sha256:HEX into NAME@sha256:HEX: once pinned, the digest alone
// names the image, and a tag beside it would only suggest it could move.
func withoutTag(ref string) string {
	name, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return ref
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return name + "@" + digest
}

// ociIndex is the part of an OCI layout's index.json that names its image.
type ociIndex struct {
	Manifests []struct {
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
	} `json:"manifests"`
}

// tarballRef reads the image digest from an OCI layout tarball's index.json, with tar from the
// Go image (which may itself be that tarball).
func (r *Reliquary) tarballRef(ctx context.Context, tarball *dagger.File) (string, error) {
	name, err := tarball.Name(ctx)
	if err != nil {
		return "", err
	}
	out, err := r.goBase(nil).
		WithMountedFile("/image.tar", tarball).
		WithExec([]string{"tar", "-xOf", "/image.tar", "index.json"}).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: no index.json (an OCI image layout tarball is required): %w", name, err)
	}
	var idx ociIndex
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		return "", fmt.Errorf("%s: index.json: %v", name, err)
	}
	if len(idx.Manifests) != 1 || !strings.HasPrefix(idx.Manifests[0].Digest, "sha256:") {
		return "", fmt.Errorf("%s: index.json must name exactly one image by sha256 digest, it names %d", name, len(idx.Manifests))
	}
	m := idx.Manifests[0]
	if ref := m.Annotations["org.opencontainers.image.ref.name"]; ref != "" && strings.ContainsAny(ref, ":/") {
		name = ref
	}
	return withoutTag(strings.SplitN(name, "@", 2)[0] + "@" + m.Digest), nil
}

// goBase is the Go image, pinned when img is known, with the Go environment every stage shares:
// no cgo, no toolchain downloads, caches at fixed paths. (The build stage sets its own clean
// environment for the project; the CLI build passes its flags explicitly.)
func (r *Reliquary) goBase(img *Images) *dagger.Container {
	var c *dagger.Container
	switch {
	case r.GoImageTarball != nil:
		c = dag.Container().Import(r.GoImageTarball)
	case img != nil:
		c = dag.Container().From(img.Toolchain)
	default:
		c = dag.Container().From(r.GoImage)
	}
	return c.
		WithEnvVariable("CGO_ENABLED", "0").
		WithEnvVariable("GOTOOLCHAIN", "local").
		WithEnvVariable("GOMODCACHE", modCache).
		WithEnvVariable("GOCACHE", buildCache)
}

// cli builds the reliquary CLI from the module's own source: static, reproducible, and built
// once per call (the engine runs an identical build only once). No DWARF, as the release's
// builds: -w would drop it anyway.
func (r *Reliquary) cli(img *Images) *dagger.File {
	return r.goBase(img).
		WithMountedCache(modCache, dag.CacheVolume("reliquary-cli-go-mod")).
		WithMountedCache(buildCache, dag.CacheVolume("reliquary-cli-go-build")).
		WithMountedDirectory("/reliquary", r.Tool).
		WithWorkdir("/reliquary").
		WithExec([]string{"go", "build", "-trimpath", "-buildvcs=false", "-gcflags=all=-dwarf=false", "-ldflags=-s -w -buildid=",
			"-o", "/out/reliquary", "./cmd/reliquary"}).
		File("/out/reliquary")
}

// goStage is a Go container with the CLI, the project's caches and the source at srcPath:
// for the stages that run the go command (freeze, build, replay, bench).
func (r *Reliquary) goStage(img *Images, src *dagger.Directory) *dagger.Container {
	return r.goBase(img).
		WithMountedFile(cliPath, r.cli(img)).
		WithMountedCache(modCache, r.ModuleCache).
		WithMountedCache(buildCache, r.BuildCache).
		WithMountedDirectory(srcPath, src).
		WithWorkdir(srcPath)
}

// gitStage is the Go image (which has git) with the CLI and the whole checkout, .git
// included, at srcPath: for the stages that read the history (source, notes).
func (r *Reliquary) gitStage(img *Images, checkout *dagger.Directory) *dagger.Container {
	return r.goBase(img).
		WithMountedFile(cliPath, r.cli(img)).
		WithMountedDirectory(srcPath, checkout).
		WithWorkdir(srcPath)
}

// runtimeStage is the runtime image with the CLI, run as stageUser with work as its writable
// working directory: for the stages that need nothing but the CLI.
func (r *Reliquary) runtimeStage(img *Images, work *dagger.Directory) *dagger.Container {
	var c *dagger.Container
	if r.RuntimeImageTarball != nil {
		c = dag.Container().Import(r.RuntimeImageTarball)
	} else {
		c = dag.Container().From(img.Runtime)
	}
	return c.
		WithMountedFile(cliPath, r.cli(img)).
		WithUser(stageUser).
		WithMountedTemp("/tmp").
		WithEnvVariable("HOME", "/tmp").
		WithEnvVariable("TMPDIR", "/tmp").
		WithMountedDirectory(workPath, work, dagger.ContainerWithMountedDirectoryOpts{Owner: stageUser}).
		WithWorkdir(workPath)
}

// withSigningKey mounts the key (and its password, if any) as files only stageUser can read.
// Secrets never go into the environment, the command line or a layer.
func withSigningKey(c *dagger.Container, key, password *dagger.Secret) *dagger.Container {
	opts := dagger.ContainerWithMountedSecretOpts{Owner: stageUser, Mode: secretMode}
	c = c.WithMountedSecret(keyPath, key, opts)
	if password != nil {
		c = c.WithMountedSecret(passPath, password, opts)
	}
	return c
}

// signingArgs are the CLI flags that point at the mounted key and password files.
func signingArgs(password *dagger.Secret) []string {
	args := []string{"--key", keyPath}
	if password != nil {
		args = append(args, "--password-file", passPath)
	}
	return args
}

// uncached makes the next exec run even if an identical one ran before: signing and
// benchmarking must happen now, not be replayed from the cache.
func uncached(c *dagger.Container) *dagger.Container {
	return c.WithEnvVariable("RELIQUARY_RUN", nonce())
}

// nonce is a value that differs on every call.
func nonce() string {
	return strconv.FormatInt(time.Now().UnixNano(), 10)
}

// run executes `reliquary ARGS...` in c and waits for it, so that a failure surfaces at the
// stage that failed. The error keeps the CLI's exit code and stderr.
func run(ctx context.Context, c *dagger.Container, args ...string) (*dagger.Container, error) {
	out, err := c.WithExec(append([]string{cliPath}, args...)).Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("reliquary %s: %w", args[0], err)
	}
	return out, nil
}
