package publish

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sentientos/reliquary/internal/safepath"
)

// Fuzz targets of everything this package parses from a registry, a bundle or the command
// line. Internal: the parsers are unexported steps of Locate and Publish.

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"oci://127.0.0.1:5000/app:v1.0.0", "oci://ghcr.io/o/r", "oci://h/r@sha256:00", "oci:///x", "docker://h/r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s, false)
		if err != nil {
			return
		}
		if again, err := ParseTarget(tg.String(), false); err != nil || again.String() != tg.String() {
			t.Fatalf("%q parsed as %q, which parses as %q, %v", s, tg, again, err)
		}
	})
}

func FuzzParseBundleManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"artifactType":"` + ArtifactType + `","subject":{"digest":"sha256:` + strings.Repeat("a", 64) + `"},` +
		`"layers":[{"digest":"sha256:` + strings.Repeat("b", 64) + `","size":3,"annotations":{"org.opencontainers.image.title":"manifest.json"}}]}`))
	f.Add([]byte(`{"artifactType":"` + ArtifactType + `","subject":{},"layers":[{"annotations":{"org.opencontainers.image.title":"../x"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		files, _, err := parseBundleManifest(raw)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, file := range files {
			if safepath.Check(file.Path) != nil || seen[file.Path] || file.Digest.Algorithm != "sha256" {
				t.Fatalf("accepted %+v", file)
			}
			seen[file.Path] = true
		}
	})
}

func FuzzProvenanceStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","predicate":null}`))
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := provenanceStatement(raw, d)
		if err != nil {
			return
		}
		if !bytes.Contains(st, []byte(d.Hex)) {
			t.Fatalf("statement %s does not name the image", st)
		}
	})
}

// FuzzLayout feeds arbitrary tarballs to the layout reader and index.json parser: only
// the names of a layout reach the writer.
func FuzzLayout(f *testing.F) {
	f.Add(tarOf(f, map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": `{"schemaVersion":2,"manifests":[]}`}))
	f.Add(tarOf(f, map[string]string{"../evil": "x", "blobs/sha256/" + strings.Repeat("d", 64): "y"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readLayout(bytes.NewReader(data), func(name string, r io.Reader) error {
			if !layoutMember.MatchString(name) {
				t.Fatalf("member %q reached the writer", name)
			}
			if name == "index.json" {
				_, _ = parseTopIndex(r)
			}
			return nil
		})
	})
}

func tarOf(f *testing.F, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			f.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			f.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
