package publish_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
)

// stockCosign finds cosign v3 ($RELIQUARY_COSIGN, then PATH). Without it the test skips, or
// fails when RELIQUARY_REQUIRE_INTEROP=1 (CI).
func stockCosign(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_COSIGN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	const missing = "cosign not found: set RELIQUARY_COSIGN or install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3 (CI does)"
	if os.Getenv("RELIQUARY_REQUIRE_INTEROP") == "1" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// runCosign runs cosign with an empty HOME and every proxied request sent to a closed port:
// only the loopback registry is reachable, so cosign must verify offline.
func runCosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := stockCosign(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY="}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Stock cosign v3.1.3 accepts the published image's signature and SLSA provenance, and
// rejects them for a key that did not sign.
func TestCosignVerifiesPublishedImage(t *testing.T) {
	stockCosign(t)
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
		out, err := runCosign(t, args...)
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
	if out, err := runCosign(t, "verify", "--key", otherKey, "--insecure-ignore-tlog=true", "--allow-http-registry", ref); err == nil {
		t.Fatalf("cosign verify with another key passed:\n%s", out)
	}
}
