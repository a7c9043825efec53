package main

import (
	"context"

	"github.com/sentientos/reliquary/ci/internal/dagger"
)

// registryPassPath is where publish finds the registry password, mounted as a secret file.
const registryPassPath = "/run/secrets/registry.password"

// Publish pushes a sealed release to an OCI registry, after the provenance gate passes.
//
// It pushes the image (the layout's own digest), its signature and provenance as referrers
// (as stock cosign reads them), and the whole bundle, and prints every digest it pushed. The signing key signs the image; the registry password
// is mounted as a file readable only by the stage's user and never reaches argv or a log.
// +cache="never"
func (r *Reliquary) Publish(
	ctx context.Context,
	// The sealed release bundle (release ... bundle, or a directory holding one).
	bundle *dagger.Directory,
	// Where to push: oci://HOST[:PORT]/REPO.
	target string,
	// Private key that signs the image (the release's key).
	signingKey *dagger.Secret,
	// Password of an encrypted signing key.
	// +optional
	keyPassword *dagger.Secret,
	// The trusted public key (PEM) the pre-publish gate checks the bundle against (default:
	// release.pub at the repository root).
	// +defaultPath="/release.pub"
	publicKey *dagger.File,
	// Registry user name.
	// +optional
	registryUsername string,
	// Registry password or token.
	// +optional
	registryPassword *dagger.Secret,
	// Talk plain HTTP to the registry (a registry on a private network, for tests).
	// +optional
	allowHttp bool,
	// A registry running as a Dagger service, reachable from the push as host "registry"
	// (target oci://registry:PORT/REPO).
	// +optional
	registry *dagger.Service,
) (string, error) {
	img, err := r.pin(ctx)
	if err != nil {
		return "", err
	}
	c := withSigningKey(r.runtimeStage(img, dag.Directory()), signingKey, keyPassword).
		WithMountedDirectory(inPath, bundle).
		WithMountedFile(pubPath, publicKey)
	args := append([]string{"publish", inPath, target, "--trusted-key", pubPath}, signingArgs(keyPassword)...)
	if registryPassword != nil {
		c = c.WithMountedSecret(registryPassPath, registryPassword,
			dagger.ContainerWithMountedSecretOpts{Owner: stageUser, Mode: secretMode})
		args = append(args, "--registry-password-file", registryPassPath)
	}
	if registryUsername != "" {
		args = append(args, "--registry-username", registryUsername)
	}
	if allowHttp {
		args = append(args, "--allow-http")
	}
	if registry != nil {
		c = c.WithServiceBinding("registry", registry)
	}
	c, err = gate(ctx, uncached(c), args)
	if err != nil {
		return "", err
	}
	return c.Stdout(ctx)
}
