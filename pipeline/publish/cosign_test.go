package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
)

// Stock cosign v3.1.3 accepts the published image's signature and SLSA provenance, and
// rejects them for a key that did not sign.
func TestCosignVerifiesPublishedImage(t *testing.T) {
	t.Parallel()
	registrytest.CosignBinary(t)
	reg := registrytest.Start(t)
	dir, key, index := release(t, "v1.0.0")
	res, err := publish.Publish(context.Background(), publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "release.pub")
	if err := os.WriteFile(pub, key.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/app@" + index.String()
	if res.Image != index.String() {
		t.Fatalf("image %s", res.Image)
	}
	for _, args := range [][]string{
		{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", ref},
		{"verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--type", "slsaprovenance1", ref},
	} {
		out, err := registrytest.Cosign(t, args...)
		if err != nil {
			t.Fatalf("cosign %s: %v\n%s", args[0], err, out)
		}
		t.Logf("cosign %s:\n%s", args[0], out)
		if !strings.Contains(out, index.Hex) {
			t.Errorf("cosign %s output does not name the image digest:\n%s", args[0], out)
		}
	}
	k2, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(otherKey, k2.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := registrytest.Cosign(t, "verify", "--key", otherKey, "--insecure-ignore-tlog=true", "--allow-http-registry", ref); err == nil {
		t.Fatalf("cosign verify with another key passed:\n%s", out)
	}
}
