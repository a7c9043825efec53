// Package interoptest finds the stock tools interop tests run (cosign, ...), so that every
// such test finds a tool, and skips or fails without it, the same way: skipped on a
// developer's machine without the tool, failed when RELIQUARY_REQUIRE_INTEROP=1 (CI).
package interoptest

import (
	"os"
	"os/exec"
	"testing"
)

// Tool is $env when set, else the first of names on PATH; without either the test skips,
// or fails under RELIQUARY_REQUIRE_INTEROP=1, saying missing.
func Tool(t testing.TB, env, missing string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("RELIQUARY_REQUIRE_INTEROP") == "1" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// Cosign finds stock cosign v3: $RELIQUARY_COSIGN, then PATH.
func Cosign(t testing.TB) string {
	t.Helper()
	return Tool(t, "RELIQUARY_COSIGN", "cosign not found: set RELIQUARY_COSIGN or install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3 (CI does)", "cosign")
}
