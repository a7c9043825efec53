package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

var h256 = strings.Repeat("a1", 32)

func validManifest() *bundle.Manifest {
	return &bundle.Manifest{
		Schema: bundle.ManifestSchema, Project: "app", Version: "v1.0.0",
		Source:       bundle.Source{Repository: "https://example.com/app", Commit: strings.Repeat("c", 40)},
		Attestations: []string{bundle.AttestProvenance},
		Artifacts: artifact.List{
			{Path: "artifacts/z.zip", Kind: artifact.KindArchive, MediaType: "application/zip", Size: 3, Digest: artifact.Digests{SHA256: h256}},
			{Path: "artifacts/a.tar.gz", Kind: artifact.KindArchive, MediaType: "application/gzip", Size: 1, Digest: artifact.Digests{SHA256: h256}},
		},
	}
}

func TestManifestRoundTripIsCanonical(t *testing.T) {
	m := validManifest()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundle.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Artifacts[0].Path != "artifacts/a.tar.gz" {
		t.Fatalf("artifacts not sorted: %v", got.Artifacts)
	}
	again, _ := got.Marshal()
	if string(again) != string(data) {
		t.Fatalf("marshal is not canonical:\n%s\n%s", data, again)
	}
	if m.Artifacts[0].Path != "artifacts/z.zip" {
		t.Fatal("Marshal reordered the caller's list")
	}
}

func TestManifestRejects(t *testing.T) {
	good, _ := validManifest().Marshal()
	for _, tc := range []struct{ name, from, to string }{
		{"unknown schema", bundle.ManifestSchema, "https://reliquary.dev/manifest/v9"},
		{"traversal", `"artifacts/a.tar.gz"`, `"../a.tar.gz"`},
		{"absolute path", `"artifacts/a.tar.gz"`, `"/etc/passwd"`},
		{"duplicate path", `"artifacts/z.zip"`, `"artifacts/a.tar.gz"`},
		{"NUL in path", `"artifacts/a.tar.gz"`, `"artifacts/a\u0000.tar.gz"`},
		{"reserved path", `"artifacts/a.tar.gz"`, `"manifest.json"`},
		{"unknown kind", `"kind": "archive"`, `"kind": "rootkit"`},
		{"bad digest", h256, "zz"},
		{"negative size", `"size": 1`, `"size": -1`},
		{"wrong type", `"size": 1`, `"size": "1"`},
		{"unknown field", `"project": "app"`, `"project": "app", "extra": 1`},
		{"duplicate key", `"project": "app"`, `"project": "app", "project": "evil"`},
		{"unknown attestation", `"provenance"`, `"magic"`},
		{"no version", `"version": "v1.0.0"`, `"version": ""`},
		{"no artifacts", `"artifacts": [`, `"artifacts": [], "x": [`},
		{"truncated", `}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatalf("mutation %q did not apply", tc.from)
			}
			if _, err := bundle.ParseManifest([]byte(bad)); !errors.Is(err, bundle.ErrManifest) {
				t.Fatalf("ParseManifest accepted or misclassified: %v", err)
			}
		})
	}
}

func TestManifestTooLargeIsRefusedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil { // a sparse 2 GiB file: cheap to make, must not be read
		t.Fatal(err)
	}
	f.Close()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Manifest(); !errors.Is(err, bundle.ErrManifest) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Manifest() = %v, want a size-limit error", err)
	}
}

func TestOpenNeverLeavesTheBundle(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "out"))
	os.WriteFile(filepath.Join(dir, "in"), []byte("x"), 0o644)
	os.Symlink("in", filepath.Join(dir, "inlink"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("..", filepath.Join(dir, "sub", "up"))
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range []string{"out", "inlink", "sub/up/in", "../" + filepath.Base(outside), "sub"} {
		if f, _, err := b.Open(p); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, _, err := b.Open("out"); !errors.Is(err, bundle.ErrNotRegular) {
		t.Errorf("Open(symlink) = %v, want ErrNotRegular", err)
	}
	inv, _ := b.Inventory()
	types := map[string]bundle.EntryType{}
	for _, e := range inv {
		types[e.Path] = e.Type
	}
	if types["out"] != bundle.TypeSymlink || types["in"] != bundle.TypeRegular || types["sub/up"] != bundle.TypeSymlink {
		t.Errorf("inventory = %v", types)
	}
}

func TestIsReserved(t *testing.T) {
	for p, want := range map[string]bool{
		"manifest.json": true, "SHA256SUMS": true, "links/build.abcd.link": true, "keys/release.pub": true,
		"provenance-2.sigstore.json": true, "provenance-02.sigstore.json": false, "provenance-x.sigstore.json": false,
		"artifacts/manifest.json": false, "deps.lock.json": false, "README.md": false,
	} {
		if got := bundle.IsReserved(p); got != want {
			t.Errorf("IsReserved(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := validManifest().Marshal()
	f.Add(good)
	f.Add([]byte(`{"schema":"https://reliquary.dev/manifest/v1"}`))
	f.Add([]byte(`{"artifacts":[{"path":"../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := bundle.ParseManifest(data)
		if err != nil {
			return
		}
		// Whatever is accepted re-validates and re-encodes.
		if _, err := m.Marshal(); err != nil {
			t.Fatalf("accepted manifest does not marshal: %v", err)
		}
	})
}
