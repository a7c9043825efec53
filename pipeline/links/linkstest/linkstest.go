// Package linkstest runs the stock in-toto verifier over a bundle for tests of any package
// that writes in-toto links, so that every such test finds the tool, and skips or fails
// without it, the same way.
package linkstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StockInToto finds in-toto-golang's CLI: $RELIQUARY_INTOTO, /work/tools/bin, then PATH (the
// binary `go install github.com/in-toto/in-toto-golang@v0.11.0` makes is named in-toto-golang).
// Without it the test is skipped, or fails when RELIQUARY_REQUIRE_INTEROP=1 (CI sets it).
func StockInToto(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_INTOTO"); p != "" {
		return p
	}
	for _, name := range []string{"in-toto-golang", "in-toto"} {
		if p := filepath.Join("/work/tools/bin", name); isExecutable(p) {
			return p
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const missing = "stock in-toto CLI not found: set RELIQUARY_INTOTO or install github.com/in-toto/in-toto-golang@v0.11.0 (CI does)"
	if os.Getenv("RELIQUARY_REQUIRE_INTEROP") == "1" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StockVerify runs `in-toto verify` the documented way: from the bundle root, so that the
// inspection sees the bundle's files. It returns the tool's combined output.
func StockVerify(t testing.TB, tool, dir, pub string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, "verify", "-l", "links/root.layout", "-k", pub, "-d", "links")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
