package sbom_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/sentientos/reliquary/pipeline/sbom"
)

// FuzzParse: any bytes give an SBOM or an error naming the file, never a panic; an SBOM
// that parses marshals again and parses to the same components.
func FuzzParse(f *testing.F) {
	bom, err := sbom.Generate(input(info(), lock()))
	if err != nil {
		f.Fatal(err)
	}
	data, err := sbom.Marshal(bom)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"application","name":"x"}},"components":[{"type":"library","name":"a","purl":"pkg:golang/a"}]}`))
	f.Add([]byte(`{"specVersion":"9.9"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := sbom.Parse("f.cdx.json", data)
		if err != nil {
			return
		}
		again, err := sbom.Marshal(b)
		if err != nil {
			return // a value the encoder refuses (e.g. an unknown spec version in a nested field)
		}
		b2, err := sbom.Parse("again", again)
		if err != nil {
			t.Fatalf("a parsed SBOM does not parse again: %v", err)
		}
		if d := sbom.Diff(b, b2); len(d) != 0 {
			t.Fatalf("round trip changed the SBOM: %v", d)
		}
	})
}

// FuzzBuildInfo: the build info reader takes any bytes (a binary from a bundle) without
// panicking; the seed is this test binary.
func FuzzBuildInfo(f *testing.F) {
	if exe, err := os.Executable(); err == nil {
		if data, err := os.ReadFile(exe); err == nil && len(data) < 64<<20 {
			f.Add(data[:min(len(data), 1<<16)])
		}
	}
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("\xff Go buildinf:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bi, err := sbom.BuildInfo("bin", bytes.NewReader(data))
		if err == nil && bi == nil {
			t.Fatal("no error and no build info")
		}
	})
}
