package links_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
)

// keyedBundle is a digested bundle with the signing key shipped as keys/release.pub, attested.
func keyedBundle(t *testing.T, k testKey, n int) string {
	t.Helper()
	dir, m := newBundle(t, n)
	writeFile(t, dir, "keys/release.pub", string(k.priv.PublicKey().PEM()))
	attestLinks(t, dir, m, k)
	return dir
}

// TestVerifyBindsLayoutAndKeys: the layout names its release's manifest, and the sign link
// names the key files it wrote; a layout of another release by the same key, and a key file
// renamed, copied, added under a look-alike name, deleted or replaced, fail by file name.
func TestVerifyBindsLayoutAndKeys(t *testing.T) {
	k := newKey(t)
	other := keyedBundle(t, k, 2) // another release, same key
	const pub = "keys/release.pub"
	move := func(t *testing.T, dir, from, to string) {
		must(t, os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)))
	}
	copyFile := func(t *testing.T, fromDir, from, toDir, to string) {
		data, err := os.ReadFile(filepath.Join(fromDir, from))
		must(t, err)
		must(t, os.Remove(filepath.Join(toDir, to)))
		writeFile(t, toDir, to, string(data))
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   map[string]string // file -> part of its message
	}{
		{"layout of another release", func(t *testing.T, dir string) { copyFile(t, other, bundle.LayoutFile, dir, bundle.LayoutFile) },
			map[string]string{bundle.LayoutFile: "layout of another release"}},
		{"key renamed", func(t *testing.T, dir string) { move(t, dir, pub, "keys/renamed.pub") },
			map[string]string{"keys/renamed.pub": "not a key file the release's sign step wrote", pub: "missing"}},
		{"key copied", func(t *testing.T, dir string) {
			writeFile(t, dir, "keys/copy_release.pub", string(k.priv.PublicKey().PEM()))
		},
			map[string]string{"keys/copy_release.pub": "renamed, copied or added"}},
		{"look-alike key", func(t *testing.T, dir string) {
			writeFile(t, dir, "keys/second-release.pub", string(k.priv.PublicKey().PEM()))
		},
			map[string]string{"keys/second-release.pub": "renamed, copied or added"}},
		{"key deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, pub))) },
			map[string]string{pub: "missing"}},
		{"key replaced", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, pub)))
			writeFile(t, dir, pub, string(newKey(t).priv.PublicKey().PEM()))
		},
			map[string]string{pub: "differs from the key file the sign step wrote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyedBundle(t, k, 3)
			if _, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()}); err != nil {
				t.Fatalf("the intact bundle: %v", err)
			}
			tc.tamper(t, dir)
			_, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()})
			var fe *links.FileError
			if !errors.As(err, &fe) || !errors.Is(err, links.ErrLink) {
				t.Fatalf("Verify = %v, want a *FileError", err)
			}
			got := map[string]string{}
			for _, p := range fe.Problems {
				got[p.File] = p.Message
			}
			for file, msg := range tc.want {
				if !strings.Contains(got[file], msg) {
					t.Errorf("%s: message %q, want it to contain %q (all: %v)", file, got[file], msg, got)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("problems %v, want exactly %v", got, tc.want)
			}
		})
	}
}

func TestLayoutNamesItsManifest(t *testing.T) {
	dir, m := newBundle(t, 1)
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0))
	must(t, err)
	sums, err := links.HashFiles(dir, bundle.ManifestFile)
	must(t, err)
	if got := links.ManifestOf(set.Layout.Readme); got != sums[bundle.ManifestFile] {
		t.Fatalf("readme %q names manifest %q, want %s", set.Layout.Readme, got, sums[bundle.ManifestFile])
	}
	for _, readme := range []string{"", "manifest.json sha256:abc", "manifest.json sha256:" + strings.Repeat("a", 64) + " manifest.json sha256:" + strings.Repeat("b", 64)} {
		if got := links.ManifestOf(readme); got != "" {
			t.Errorf("ManifestOf(%q) = %q, want none", readme, got)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The stock in-toto verifier enforces the key binding too: the layout requires the key file
// sign wrote and allows no other under keys/.
func TestStockInTotoBindsKeys(t *testing.T) {
	tool := stockInToto(t)
	k := newKey(t)
	dir := keyedBundle(t, k, 2)
	if out, err := stockVerify(t, tool, dir, k.pubFile); err != nil {
		t.Fatalf("stock in-toto verify of the intact bundle: %v\n%s", err, out)
	}
	writeFile(t, dir, "keys/copy_release.pub", string(k.priv.PublicKey().PEM()))
	if out, err := stockVerify(t, tool, dir, k.pubFile); err == nil || !strings.Contains(out, "keys/copy_release.pub") {
		t.Fatalf("stock in-toto verify accepted a copied key file (%v)\n%s", err, out)
	}
	must(t, os.Remove(filepath.Join(dir, "keys/copy_release.pub")))
	must(t, os.Remove(filepath.Join(dir, "keys/release.pub")))
	if out, err := stockVerify(t, tool, dir, k.pubFile); err == nil || !strings.Contains(out, "REQUIRE 'keys/release.pub'") {
		t.Fatalf("stock in-toto verify accepted a deleted key file (%v)\n%s", err, out)
	}
}
