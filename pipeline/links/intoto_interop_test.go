package links_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/pipeline/links/linkstest"
)

var (
	stockInToto = linkstest.StockInToto
	stockVerify = linkstest.StockVerify
)

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
