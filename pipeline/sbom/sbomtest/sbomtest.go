// Package sbomtest helps tests change SBOMs the way a tamperer would, and find stock cosign.
package sbomtest

import (
	"bytes"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/internal/interoptest"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// Edit parses an SBOM, applies f and marshals it again; it fails the test if nothing changed.
func Edit(t testing.TB, data []byte, f func(*cdx.BOM)) []byte {
	t.Helper()
	b, err := sbom.Parse("edited", data)
	if err != nil {
		t.Fatal(err)
	}
	f(b)
	out, err := sbom.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(out, data) {
		t.Fatal("the edit changed nothing")
	}
	return out
}

// Cosign finds stock cosign: $RELIQUARY_COSIGN, then PATH (CI builds v3.1.3). Without it the
// test is skipped, or fails when RELIQUARY_REQUIRE_INTEROP=1 (CI sets it).
func Cosign(t testing.TB) string {
	t.Helper()
	return interoptest.Cosign(t)
}
