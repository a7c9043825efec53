package escrow_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/escrow"
)

// Stock cosign accepts the escrow's signature offline with the release's public key, and
// refuses it for a changed archive. $RELIQUARY_COSIGN or cosign on PATH; skipped without.
func TestCosignVerifiesEscrow(t *testing.T) {
	bin := os.Getenv("RELIQUARY_COSIGN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("cosign"); err != nil {
			t.Skip("cosign not found: set RELIQUARY_COSIGN or put cosign v3 on PATH (go install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3)")
		}
	}
	key := newKey(t)
	dir := signedBundle(t, key)
	if _, err := escrow.Write(dir, key, time.Unix(1740830400, 0)); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "release.pub")
	if err := os.WriteFile(pub, key.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cosign := func(archive string) error {
		cmd := exec.Command(bin, "verify-blob", "--key", pub, "--bundle", filepath.Join(dir, bundle.EscrowSigFile), "--insecure-ignore-tlog=true", archive)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SIGSTORE_NO_CACHE=1", "TUF_ROOT=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("cosign: %s", out)
		}
		return err
	}
	if err := cosign(filepath.Join(dir, bundle.EscrowFile)); err != nil {
		t.Fatalf("cosign refuses the escrow signature: %v", err)
	}
	changed := filepath.Join(t.TempDir(), bundle.EscrowFile)
	data, _ := os.ReadFile(filepath.Join(dir, bundle.EscrowFile))
	os.WriteFile(changed, append(data, 0), 0o644)
	if err := cosign(changed); err == nil {
		t.Fatal("cosign accepts the signature for a changed escrow archive")
	}
}
