package notes_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", name, got)
	}
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func testArtifacts(v string) artifact.List {
	mk := func(p string, k artifact.Kind, size int64) artifact.Artifact {
		return artifact.Artifact{Path: p, Kind: k, MediaType: artifact.MediaTypeFor(p), Size: size, Digest: artifact.Digests{SHA256: digestOf(p)}}
	}
	// Deliberately unsorted: the table must come out sorted by path.
	return artifact.List{
		mk("artifacts/reliquary_"+v+"_windows_amd64.zip", artifact.KindArchive, 5123456),
		mk("artifacts/reliquary_"+v+"_linux_amd64.tar.gz", artifact.KindArchive, 4213112),
		mk("artifacts/reliquary.oci.tar", artifact.KindImage, 18874368),
		mk("artifacts/sbom.json", artifact.KindMetadata, 812),
	}
}

var (
	testManifestDigest = "sha256:" + digestOf("manifest.json")
	testFingerprint    = digestOf("release.pub")
)

const benchTable = "| benchmark | old | new | delta |\n| --- | ---: | ---: | ---: |\n| Verify-2 | 1.20s | 1.10s | -8.3% |"

func TestRenderRC(t *testing.T) {
	g, _ := newRepo(t)
	h, err := collect(t, g.Dir, "v1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	doc := notes.Document{
		Project: "reliquary",
		History: h,
		Verification: &notes.Verification{
			Artifacts:      testArtifacts("1.0.0-rc.1"),
			ManifestDigest: testManifestDigest,
			KeyFingerprint: testFingerprint,
		},
		Sections: []notes.Section{
			{Title: "Benchmarks", Markdown: benchTable},
			{Title: "Reproducibility", Markdown: "Rebuilt from source in the pinned containers: all 3 artifacts are byte-identical.\n"},
		},
	}
	out, err := notes.Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rc1.md", out)

	again, err := notes.Render(doc)
	if err != nil || !bytes.Equal(out, again) {
		t.Errorf("two renders of the same document differ")
	}
	s := string(out)
	for _, want := range []string{
		"## Breaking changes\n\n- **feat:** require Go 1.26",
		"\n  building reliquary now needs Go 1.26 or later.\n",
		"- **feat(api):** rename Verify to Check",
		"escape &lt;b>names&lt;/b> in | tables",
		"| `artifacts/reliquary.oci.tar` | 18.0 MiB (18874368 bytes) | `" + digestOf("artifacts/reliquary.oci.tar") + "` |",
		"digest: `" + testManifestDigest + "`",
		"PKIX DER encoding): `" + testFingerprint + "`",
		"reliquary verify dist --key release.pub\n",
		"cosign verify-blob --bundle dist/manifest.json.sigstore.json --key release.pub --insecure-ignore-tlog=true dist/manifest.json\n",
		"cosign verify-blob-attestation --bundle dist/provenance.sigstore.json --key release.pub --insecure-ignore-tlog=true --type slsaprovenance1 dist/artifacts/reliquary_1.0.0-rc.1_linux_amd64.tar.gz\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("notes lack %q", want)
		}
	}
	if strings.Contains(s, "slsaprovenance1 dist/artifacts/sbom.json") {
		t.Error("a metadata artifact (not a provenance subject) got an attestation command")
	}
	order := []string{"## Breaking changes", "## Features", "## Bug fixes", "## Performance", "## Security", "## Other changes", "## Benchmarks", "## Reproducibility", "## Verification"}
	last := -1
	for _, h := range order {
		i := strings.Index(s, h)
		if i <= last {
			t.Errorf("%q is out of order (at %d, previous at %d)", h, i, last)
		}
		last = i
	}
}

func TestRenderPromoted(t *testing.T) {
	g, _ := newRepo(t)
	h, err := collect(t, g.Dir, "v1.0.0", notes.AtRevision("v1.0.0-rc.1"))
	if err != nil {
		t.Fatal(err)
	}
	promo, err := notes.PromotionSection(version.MustParse("v1.0.0-rc.1"), "sha256:"+digestOf("rc provenance"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := notes.Render(notes.Document{
		Project:      "reliquary",
		History:      h,
		Verification: &notes.Verification{Artifacts: testArtifacts("1.0.0"), ManifestDigest: testManifestDigest, KeyFingerprint: testFingerprint, KeyFile: "keys/reliquary.pub"},
		Sections:     []notes.Section{promo},
	}, notes.WithHiddenTypes("chore"), notes.WithGroups(notes.Group{Title: "Documentation", Types: []string{"docs"}}))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "v1.0.0-promoted.md", out)
	s := string(out)
	if i, j := strings.Index(s, "## Promoted from v1.0.0-rc.1"), strings.Index(s, "## Breaking changes"); i < 0 || i > j {
		t.Errorf("promotion note missing or after the changes (%d, %d)", i, j)
	}
	if !strings.Contains(s, "11 commits since v0.9.0.") {
		t.Errorf("release line: %q", s[:200])
	}

	if _, err := notes.PromotionSection(version.MustParse("v1.0.0-beta.1"), "sha256:"+digestOf("x")); !errors.Is(err, notes.ErrDocument) {
		t.Errorf("promotion from a beta: %v", err)
	}
	if _, err := notes.PromotionSection(version.MustParse("v1.0.0-rc.1"), digestOf("x")); !errors.Is(err, notes.ErrDocument) {
		t.Errorf("promotion with a bare digest: %v", err)
	}
}

func TestRenderFirstReleaseNoVerification(t *testing.T) {
	g := gittest.New(t)
	g.Commit("feat: first")
	g.Commit("fix: second")
	h, err := collect(t, g.Dir, "v1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := notes.Render(notes.Document{History: h})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "first.md", out)
	s := string(out)
	for _, want := range []string{"> **Note:** First release", "listed in `manifest.json`", "dist/artifacts/NAME\n", "reliquary verify dist --key release.pub"} {
		if !strings.Contains(s, want) {
			t.Errorf("shallow notes lack %q", want)
		}
	}
}

// TestRenderHostile: names and messages that try to break the markdown or the commands.
func TestRenderHostile(t *testing.T) {
	path := "artifacts/a|b`c`$(touch pwned) 'q'.tar.gz"
	h := &notes.History{
		Version: version.MustParse("v1.0.0"), Commit: strings.Repeat("a", 40),
		Changes: []notes.Change{
			{Commit: strings.Repeat("b", 40), Message: notes.ParseMessage("fix: <img src=x onerror=alert(1)>\n\nbody")},
			{Commit: strings.Repeat("c", 40), Message: notes.ParseMessage("feat!: x\n\nBREAKING CHANGE: line one\n# not a heading\n<script>")},
		},
	}
	out, err := notes.Render(notes.Document{
		History: h,
		Verification: &notes.Verification{Artifacts: artifact.List{{
			Path: path, Kind: artifact.KindFile, MediaType: "application/octet-stream", Size: 1, Digest: artifact.Digests{SHA256: digestOf(path)},
		}}, KeyFile: "my key.pub", BundleDir: "-rel"},
		Sections: []notes.Section{{Title: "Title\n# injected", Markdown: "ok"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, bad := range []string{"<img", "<script>", "\n# not a heading", "\n# injected", " $(touch pwned) "} {
		if strings.Contains(s, bad) {
			t.Errorf("rendered notes contain %q:\n%s", bad, s)
		}
	}
	for _, want := range []string{
		"| ``artifacts/a\\|b`c`$(touch pwned) 'q'.tar.gz`` |",
		`--type slsaprovenance1 './-rel/artifacts/a|b` + "`c`" + `$(touch pwned) '\''q'\''.tar.gz'` + "\n",
		"reliquary verify ./-rel --key 'my key.pub'\n",
		"## Title # injected\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered notes lack %q:\n%s", want, s)
		}
	}
}

func TestRenderInvalid(t *testing.T) {
	h := &notes.History{Version: version.MustParse("v1.0.0"), Commit: strings.Repeat("a", 40)}
	good := artifact.Artifact{Path: "artifacts/x", Kind: artifact.KindFile, MediaType: "x", Size: 1, Digest: artifact.Digests{SHA256: digestOf("x")}}
	tests := []struct {
		name string
		doc  notes.Document
		msg  string
	}{
		{"no history", notes.Document{}, "history: missing"},
		{"no commit", notes.Document{History: &notes.History{Version: h.Version}}, "history: missing"},
		{"bad digest", notes.Document{History: h, Verification: &notes.Verification{ManifestDigest: "sha256:XYZ"}}, "manifestDigest"},
		{"bare digest", notes.Document{History: h, Verification: &notes.Verification{ManifestDigest: digestOf("m")}}, "manifestDigest"},
		{"bad fingerprint", notes.Document{History: h, Verification: &notes.Verification{KeyFingerprint: "sha256:" + digestOf("k")}}, "keyFingerprint"},
		{"duplicate artifact", notes.Document{History: h, Verification: &notes.Verification{Artifacts: artifact.List{good, good}}}, "duplicate path"},
		{"unsafe artifact path", notes.Document{History: h, Verification: &notes.Verification{Artifacts: artifact.List{{Path: "../x", Kind: artifact.KindFile, MediaType: "x", Digest: good.Digest}}}}, "climbs out"},
		{"key file newline", notes.Document{History: h, Verification: &notes.Verification{KeyFile: "a\nb"}}, "keyFile"},
		{"bundle dir newline", notes.Document{History: h, Verification: &notes.Verification{BundleDir: "a\rb"}}, "bundleDir"},
		{"empty section title", notes.Document{History: h, Sections: []notes.Section{{Markdown: "x"}}}, "sections[0].title"},
		{"huge section", notes.Document{History: h, Sections: []notes.Section{{Title: "x", Markdown: strings.Repeat("x", notes.MaxSectionText+1)}}}, "sections[0] (x)"},
		{"bad placement", notes.Document{History: h, Sections: []notes.Section{{Title: "x", Placement: 7}}}, "placement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notes.Render(tt.doc)
			if !errors.Is(err, notes.ErrDocument) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Render: %v, want ErrDocument saying %q", err, tt.msg)
			}
		})
	}
}
