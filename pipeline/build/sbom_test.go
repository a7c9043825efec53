package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/pipeline/sbom"
	"github.com/sentientos/reliquary/pipeline/sbom/sbomtest"
)

// TestSBOMsDescribeTheShippedBinaries: the build writes one SBOM per binary and platform,
// each of which checks against the binary read back out of its archive and the image; a
// tampered one (a component removed, a version changed, swapped with another binary's)
// fails, naming what changed.
func TestSBOMsDescribeTheShippedBinaries(t *testing.T) {
	o := sharedBuild(t)
	want := []string{"sboms/alpha_linux_amd64.cdx.json", "sboms/alpha_linux_arm64.cdx.json", "sboms/alpha_windows_amd64.cdx.json",
		"sboms/beta_linux_amd64.cdx.json", "sboms/beta_linux_arm64.cdx.json", "sboms/beta_windows_amd64.cdx.json"}
	if len(o.SBOMs) != len(want) {
		t.Fatalf("SBOMs %+v, want %v", o.SBOMs, want)
	}
	rel := sbom.Release{Dir: o.OutDir, Artifacts: o.Artifacts}
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(o.OutDir, p))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for i, s := range o.SBOMs {
		if s.Path != want[i] {
			t.Errorf("SBOM %d: %s, want %s", i, s.Path, want[i])
		}
		subjects, err := sbom.Check(rel, s.Path, read(s.Path))
		if err != nil {
			t.Errorf("%s: %v", s.Path, err)
		}
		wantSubjects := 1
		if strings.Contains(s.Path, "linux") {
			wantSubjects = 2 // the archive and the image
		}
		if len(subjects) != wantSubjects {
			t.Errorf("%s: subjects %v", s.Path, subjects)
		}
	}
	alpha := read("sboms/alpha_linux_amd64.cdx.json")
	tampered := []struct {
		name string
		data []byte
		want string
	}{
		{"swapped with beta's", read("sboms/beta_linux_amd64.cdx.json"), "describes beta"},
		{"component removed", sbomtest.Edit(t, alpha, func(b *cdx.BOM) { c := (*b.Components)[:0]; b.Components = &c }), "pkg:golang/std@"},
		{"toolchain version changed", sbomtest.Edit(t, alpha, func(b *cdx.BOM) { (*b.Components)[0].Version = "go1.0" }), "differs"},
		{"binary hash changed", sbomtest.Edit(t, alpha, func(b *cdx.BOM) { (*b.Metadata.Component.Hashes)[0].Value = strings.Repeat("0", 64) }), "the binary's description differs"},
	}
	for _, tt := range tampered {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sbom.Check(rel, "sboms/alpha_linux_amd64.cdx.json", tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}
