package sbom_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sbom"
	"github.com/sentientos/reliquary/pipeline/sbom/sbomtest"
	"github.com/sentientos/reliquary/pipeline/sign"
)

// TestCosignAcceptsTheSBOMAttestation: stock cosign verify-blob-attestation --type cyclonedx
// accepts an SBOM attestation for the artifact that ships the binary, and refuses it for
// another file and under another predicate type.
func TestCosignAcceptsTheSBOMAttestation(t *testing.T) {
	cosign := sbomtest.Cosign(t)
	dir := t.TempDir()
	archive := []byte("the archive that ships the binary")
	sum := sha256.Sum256(archive)
	path := "artifacts/multi_1.0.0_linux_amd64.tar.gz"
	in := input(info(), lock())
	in.Subjects = []sbom.Subject{{Path: path, SHA256: hex.EncodeToString(sum[:])}}
	data := generate(t, in)
	arts := artifact.List{{Path: path, Kind: artifact.KindArchive, MediaType: "application/gzip", Size: int64(len(archive)), Digest: artifact.Digests{SHA256: hex.EncodeToString(sum[:])}, Platform: "linux/amd64"}}
	stmt, err := sbom.Statement("sboms/multi_linux_amd64.cdx.json", data, arts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sbom.CheckStatement(stmt, "sboms/multi_linux_amd64.cdx.json", data, arts); err != nil {
		t.Fatalf("the statement does not pass its own check: %v", err)
	}
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sign.DSSE(stmt, sign.InTotoPayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"att.sigstore.json": signed, "release.pub": k.PublicKey().PEM(), "archive.tar.gz": archive, "other": []byte("another file")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(typ, blob string) ([]byte, error) {
		cmd := exec.Command(cosign, "verify-blob-attestation", "--bundle", "att.sigstore.json", "--key", "release.pub",
			"--insecure-ignore-tlog=true", "--type", typ, blob)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		return cmd.CombinedOutput()
	}
	if out, err := run("cyclonedx", "archive.tar.gz"); err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("cosign refuses the SBOM attestation: %v\n%s", err, out)
	}
	if _, err := run("cyclonedx", "other"); err == nil {
		t.Error("cosign accepts the SBOM attestation for a file it does not name")
	}
	if _, err := run("slsaprovenance1", "archive.tar.gz"); err == nil {
		t.Error("cosign accepts the SBOM attestation as SLSA provenance")
	}
}
