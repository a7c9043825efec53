package release_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sbom"
	"github.com/sentientos/reliquary/pipeline/sbom/sbomtest"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// checkSBOMTampering changes an SBOM of the released bundle at out and re-seals it with the
// release key (manifest, signature and the SBOM's attestation made again, as a releaser
// with a bug or a grudge could): the gate still fails the SBOM, naming what changed. A
// change that is not re-sealed fails on the manifest digest already.
func checkSBOMTampering(t *testing.T, out string, k *keys.PrivateKey, m *bundle.Manifest) {
	const target = "sboms/alpha_linux_amd64.cdx.json"
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"component removed", editSBOM(target, func(b *cdx.BOM) { c := (*b.Components)[:0]; b.Components = &c }), "module go (pkg:golang/std@"},
		{"version changed", editSBOM(target, func(b *cdx.BOM) {
			(*b.Components)[0].Version = "go1.20"
			(*b.Components)[0].PackageURL = sbom.PURL("std", "go1.20")
		}), "pkg:golang/std@go1.20?type=module) is in the SBOM but not in the binary"},
		{"swapped between binaries", func(t *testing.T, dir string) {
			data, err := os.ReadFile(filepath.Join(dir, "sboms/beta_linux_amd64.cdx.json"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, target), data)
		}, "describes beta"},
	}
	// One memo for every run below, filled by a pass over the intact bundle, as the release
	// runner's audit fills it for its seal: a changed SBOM must miss it and fail.
	memo := sbom.NewMemo()
	if r, err := verify.Run(context.Background(), out, verify.WithKeys(k.PublicKey()), verify.WithSBOMMemo(memo)); err != nil || !r.Verified {
		t.Fatalf("the intact bundle: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dist")
			if err := buildtest.CopyTree(out, dir); err != nil {
				t.Fatal(err)
			}
			tt.edit(t, dir)
			if r, err := verify.Run(context.Background(), dir, verify.WithKeys(k.PublicKey())); err != nil || r.Verified {
				t.Fatalf("the gate passed a changed SBOM: %v", err)
			}
			reseal(t, dir, k, m, target)
			r, err := verify.Run(context.Background(), dir, verify.WithKeys(k.PublicKey()), verify.WithSBOMMemo(memo))
			if err != nil || r.Verified {
				t.Fatalf("the gate passed a re-sealed changed SBOM: %v", err)
			}
			for _, f := range r.Findings {
				if f.Check == "sbom" && f.File == target && f.Status == verify.Fail && strings.Contains(f.Message, tt.want) {
					return
				}
			}
			t.Fatalf("no failed sbom finding on %s containing %q: %+v", target, tt.want, r.Findings)
		})
	}
}

func editSBOM(p string, f func(*cdx.BOM)) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, p), sbomtest.Edit(t, data, f))
	}
}

// reseal digests, signs and attests the SBOM at p again with the release key.
func reseal(t *testing.T, dir string, k *keys.PrivateKey, m *bundle.Manifest, p string) {
	t.Helper()
	res, err := digest.Run(context.Background(), digest.Input{
		Dir: dir, Project: m.Project, Version: m.Version, Source: m.Source, Toolchain: m.Toolchain,
		BaseImages: m.BaseImages, Dependencies: m.Dependencies, Attestations: m.Attestations,
		Known: m.Artifacts, Algorithms: digest.WithSHA512,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", k); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := sbom.Statement(p, data, res.Manifest.Artifacts)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sign.DSSE(stmt, attest.PayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, sbom.AttestationFile(p)), signed)
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
