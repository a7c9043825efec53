package registrytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// CosignBinary finds stock cosign v3 ($RELIQUARY_COSIGN, then PATH). Without it the test
// skips, or fails when RELIQUARY_REQUIRE_INTEROP=1 (CI).
func CosignBinary(t testing.TB) string {
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

// Cosign runs stock cosign with an empty HOME and every proxied request sent to a closed
// port: only loopback registries are reachable, so cosign must verify offline.
func Cosign(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin := CosignBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY="}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
