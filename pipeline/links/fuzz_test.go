package links

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// FuzzLoadMetablock feeds arbitrary bytes to the link/layout parser: it must return an error
// or a valid metablock, never panic.
func FuzzLoadMetablock(f *testing.F) {
	f.Add([]byte(`{"signed":{"_type":"link","name":"a","materials":{},"products":{"x":{"sha256":"00"}},"byproducts":{},"command":[],"environment":{}},"signatures":[{"keyid":"ab","sig":"cd"}]}`))
	f.Add([]byte(`{"signed":{"_type":"layout","steps":[{"_type":"step","name":"s","pubkeys":["ab"],"expected_command":[],"threshold":1,"expected_materials":[["MATCH","*"]],"expected_products":[]}],"inspect":[],"keys":{},"expires":"2030-01-01T00:00:00Z","readme":""},"signatures":[{"keyid":"ab","sig":"cd"}]}`))
	f.Add([]byte(`{"signed":null,"signatures":null}`))
	f.Add([]byte(`{"signed":{"_type":"link","_type":"layout"},"signatures":[]}`))
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, bundle.LinksDir), 0o755); err != nil {
		f.Fatal(err)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, bundle.LayoutFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		mb, err := loadMetablock(b, bundle.LayoutFile, MaxLayoutSize)
		if err == nil && mb.Signed == nil {
			t.Fatal("no error and nothing signed")
		}
	})
}

// FuzzManifestOf feeds arbitrary readmes to the parser of the manifest binding: it returns
// a 64-digit lowercase hex digest that the readme names, or "", never panics.
func FuzzManifestOf(f *testing.F) {
	f.Add("in-toto layout of app v1.0.0 (" + manifestTag + strings.Repeat("ab", 32) + "), written by reliquary.")
	f.Add(manifestTag + strings.Repeat("a", 64) + " " + manifestTag + strings.Repeat("b", 64))
	f.Add(manifestTag + strings.Repeat("A", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, readme string) {
		got := ManifestOf(readme)
		if got != "" && (len(got) != 64 || strings.Trim(got, "0123456789abcdef") != "" || !strings.Contains(readme, manifestTag+got)) {
			t.Fatalf("ManifestOf(%q) = %q", readme, got)
		}
	})
}
