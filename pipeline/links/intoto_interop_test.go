package links_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
)

// stockInToto finds in-toto-golang's CLI: $RELIQUARY_INTOTO, /work/tools/bin, then PATH (the
// binary `go install github.com/in-toto/in-toto-golang@v0.11.0` makes is named in-toto-golang).
func stockInToto(t *testing.T) string {
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

// stockVerify runs `in-toto verify` the documented way: from the bundle root, so that the
// inspection sees the bundle's files.
func stockVerify(t *testing.T, tool, dir, pub string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, "verify", "-l", "links/root.layout", "-k", pub, "-d", "links")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestStockInTotoVerify(t *testing.T) {
	tool := stockInToto(t)
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, k testKey)
		want   string // "" = accepted
	}{
		{name: "fresh release", tamper: func(*testing.T, string, testKey) {}},
		{name: "artifact changed after release", want: "disallowed by rule [DISALLOW *]",
			tamper: func(t *testing.T, dir string, _ testKey) {
				writeFile(t, dir, "artifacts/tool_000_linux_amd64.tar.gz", "evil")
			}},
		{name: "provenance removed", want: "REQUIRE 'provenance.sigstore.json'",
			tamper: func(t *testing.T, dir string, _ testKey) {
				os.Remove(filepath.Join(dir, "provenance.sigstore.json"))
			}},
		{name: "products changed between steps", want: "Step 'attest', materials [manifest.json] disallowed",
			tamper: func(t *testing.T, dir string, k testKey) {
				editLink(t, dir, "attest", func(l *intoto.Link) { l.Materials["manifest.json"]["sha256"] = strings.Repeat("1", 64) }, &k)
			}},
		{name: "link with a forged product", want: "step 'digest' requires '1' link metadata file(s)",
			tamper: func(t *testing.T, dir string, _ testKey) {
				editLink(t, dir, "digest", func(l *intoto.Link) { l.Products["SHA256SUMS"]["sha256"] = strings.Repeat("3", 64) }, nil)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKey(t)
			dir, m := newBundle(t, 3)
			attestLinks(t, dir, m, k)
			c.tamper(t, dir, k)
			out, err := stockVerify(t, tool, dir, k.pubFile)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("stock in-toto rejected a good release: %v\n%s", err, out)
			case c.want != "" && err == nil:
				t.Fatalf("stock in-toto accepted a tampered release:\n%s", out)
			case c.want != "" && !strings.Contains(out, c.want):
				t.Fatalf("stock in-toto rejected it for another reason; want %q in:\n%s", c.want, out)
			}
			if c.want == "" {
				// A second run sees the inspection link the first one left, and still passes.
				if out, err := stockVerify(t, tool, dir, k.pubFile); err != nil {
					t.Fatalf("second run: %v\n%s", err, out)
				}
			}
		})
	}
}
