// Reliquary: reproducible, signed and attested releases of Go projects, in containers.
//
// Each stage of a release runs the reliquary CLI, built from this module's own source, in a
// container with its inputs mounted: freeze (pin the dependency set), build (every platform,
// archives, an OCI image and a docs bundle, byte-for-byte reproducible), digest (the
// immutability manifest and SHA256SUMS), sign (a Sigstore bundle over the manifest), attest
// (SLSA provenance and one in-toto link per stage), and the provenance gate, which checks the
// result before anything leaves. Stages hand typed objects to each other, so an unsigned or
// drifted bundle cannot reach the next step:
//
//	dagger call release --source=. --version=v1.0.0 --signing-key=env://RELIQUARY_KEY bundle export --path=dist
//	dagger call source --dir=. freeze build digest sign --key=env://RELIQUARY_KEY attest bundle export --path=dist
//	dagger call verify --bundle=./dist --public-key=./release.pub
//
// Secrets are only ever mounted as files readable by the stage's user; signing, publishing
// and benchmarking are never served from the cache.
package main

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/ci/internal/dagger"
)

// Pinned defaults. The Go image matches the go directive of reliquary itself; both may be
// overridden, and replaced by OCI tarballs on machines without a registry.
const (
	defaultGoImage      = "golang:1.26.8-bookworm"
	defaultRuntimeImage = "debian:bookworm-slim"
)

// Reliquary holds what every stage shares: the reliquary source its CLI is built from, the
// base images and the Go caches.
type Reliquary struct {
	// The reliquary repository the CLI is built from.
	Tool *dagger.Directory // +private
	// Go toolchain image reference, used to build the CLI and the project.
	GoImage string
	// Runtime image reference, used for the stages that only run the CLI.
	RuntimeImage string
	// OCI tarball replacing GoImage (air-gapped machines).
	GoImageTarball *dagger.File // +private
	// OCI tarball replacing RuntimeImage (air-gapped machines).
	RuntimeImageTarball *dagger.File // +private
	// Go module cache for the project's dependencies.
	ModuleCache *dagger.CacheVolume // +private
	// Go build cache for the project's builds.
	BuildCache *dagger.CacheVolume // +private
	// Binary cache: linked binaries by everything they depend on, reused by build only.
	BinaryCache *dagger.CacheVolume // +private
}

// New configures the toolchain every stage uses.
func New(
	// The reliquary repository the CLI is built from (default: this module's own repository).
	// +defaultPath="/"
	// +ignore=["*", "!go.mod", "!go.sum", "!cmd/", "!pipeline/", "!internal/"]
	tool *dagger.Directory,
	// Go toolchain image (the official image for the pinned Go version by default). It builds
	// the CLI, freezes dependencies and builds the project; its digest goes into the provenance.
	// +optional
	// +default="golang:1.26.8-bookworm"
	goImage string,
	// Runtime image for stages that only run the CLI (digest, sign, attest, verify); its
	// digest goes into the provenance.
	// +optional
	// +default="debian:bookworm-slim"
	runtimeImage string,
	// OCI image tarball used instead of --go-image, for machines without a registry.
	// +optional
	goImageTarball *dagger.File,
	// OCI image tarball used instead of --runtime-image, for machines without a registry.
	// +optional
	runtimeImageTarball *dagger.File,
	// Go module cache for the project's dependencies (default: a shared volume).
	// +optional
	moduleCache *dagger.CacheVolume,
	// Go build cache for the project's builds (default: a shared volume). A fresh volume
	// forces a rebuild from scratch.
	// +optional
	buildCache *dagger.CacheVolume,
	// Binary cache (default: a shared volume): a binary whose every input (tree, lock,
	// toolchain, platform, flags, environment) is unchanged is copied, not linked again.
	// Reproduce and replay never read it.
	// +optional
	binaryCache *dagger.CacheVolume,
) *Reliquary {
	if goImage == "" {
		goImage = defaultGoImage
	}
	if runtimeImage == "" {
		runtimeImage = defaultRuntimeImage
	}
	if moduleCache == nil {
		moduleCache = dag.CacheVolume("reliquary-go-mod")
	}
	if buildCache == nil {
		buildCache = dag.CacheVolume("reliquary-go-build")
	}
	if binaryCache == nil {
		binaryCache = dag.CacheVolume("reliquary-bin")
	}
	return &Reliquary{
		Tool:                tool,
		GoImage:             goImage,
		RuntimeImage:        runtimeImage,
		GoImageTarball:      goImageTarball,
		RuntimeImageTarball: runtimeImageTarball,
		ModuleCache:         moduleCache,
		BuildCache:          buildCache,
		BinaryCache:         binaryCache,
	}
}

// Cli is the reliquary CLI the stages run, built from this module's source.
//
// It is built for the Go image's platform: the same binary an auditor can run on a host to
// verify or replay.
func (r *Reliquary) Cli(ctx context.Context) (*dagger.File, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return nil, fmt.Errorf("cli: %w", err)
	}
	return r.cli(img), nil
}
