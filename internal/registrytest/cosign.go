package registrytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/interoptest"
)

// CosignBinary finds stock cosign v3 ($RELIQUARY_COSIGN, then PATH). Without it the test
// skips, or fails when RELIQUARY_REQUIRE_INTEROP=1 (CI).
func CosignBinary(t testing.TB) string {
	t.Helper()
	return interoptest.Cosign(t)
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
