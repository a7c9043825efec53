package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentientos/reliquary/ci/tests/internal/dagger"
)

// registryService is the CNCF distribution registry, built from the Go module proxy and
// run as a Dagger service on port 5000 with plain HTTP.
func (t *Tests) registryService() *dagger.Service {
	const config = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
`
	bin := t.goImage().
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("reliquary-tests-tools-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("reliquary-tests-tools-build")).
		WithEnvVariable("GOBIN", "/tools").
		WithExec([]string{"go", "install", "github.com/distribution/distribution/v3/cmd/registry@v3.0.0"}).
		File("/tools/registry")
	return t.goImage().
		WithFile("/usr/local/bin/registry", bin).
		WithNewFile("/etc/registry.yml", config).
		WithExposedPort(5000).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{"registry", "serve", "/etc/registry.yml"}})
}

// Publish releases the scratch checkout, publishes it with the module to a real registry
// (a Dagger service), and checks what the registry serves: `reliquary verify oci://` passes
// the gate on the pulled bundle and the image, and stock cosign verifies the image's
// signature and SLSA provenance with the release key.
func (t *Tests) Publish(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	b, err := materialize(ctx, t.module("").Release(t.scratchRepo(), gitVersion, key.secret,
		dagger.ReliquaryReleaseOpts{Platforms: []string{"linux/amd64"}}).Bundle(), "publish")
	if err != nil {
		return err
	}
	reg := t.registryService()
	out, err := t.module("").Publish(ctx, b, "oci://registry:5000/multi", key.secret, dagger.ReliquaryPublishOpts{
		PublicKey: key.pub, AllowHTTP: true, Registry: reg,
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	digest := ""
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "sha256:") && digest == "" {
			digest = f
		}
	}
	script := `set -e
reliquary verify oci://registry:5000/multi:` + gitVersion + ` --key /keys/release.pub --allow-http --expect-version ` + gitVersion + `
cosign verify --key /keys/release.pub --insecure-ignore-tlog=true --allow-http-registry registry:5000/multi:` + gitVersion + `
cosign verify-attestation --key /keys/release.pub --insecure-ignore-tlog=true --allow-http-registry --type slsaprovenance1 registry:5000/multi:` + gitVersion + `
echo "the registry serves a verified release"`
	c := t.goImage().
		WithDirectory("/tools", t.stockTools()).
		WithMountedFile("/usr/local/bin/reliquary", t.module("").Cli()).
		WithEnvVariable("PATH", "/tools:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
		WithMountedFile("/keys/release.pub", key.pub).
		WithServiceBinding("registry", reg)
	if err := expectSuccess(ctx, c, "the published release does not verify", "sh", "-c", script); err != nil {
		return fmt.Errorf("%w\npublish printed:\n%s", err, out)
	}
	if digest == "" {
		return fmt.Errorf("publish printed no digest:\n%s", out)
	}
	return nil
}
