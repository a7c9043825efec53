package bench_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// cosignPath finds stock cosign: $RELIQUARY_COSIGN, else PATH.
func cosignPath(t *testing.T) string {
	if p := os.Getenv("RELIQUARY_COSIGN"); p != "" {
		return p
	}
	p, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign not found: set RELIQUARY_COSIGN or put cosign v3 on PATH to run the interop test")
	}
	return p
}

// Stock cosign signs the statement as it is (attest-blob --statement) and, verifying, checks
// its subject against bench.json: the statement is a well-formed in-toto v1 Statement whose
// digest binds the file, offline, with a key.
func TestStatementCosignInterop(t *testing.T) {
	cosign := cosignPath(t)
	dir := t.TempDir()
	data := benchJSON(t)
	st, err := bench.Statement(data)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"bench.json": data, "statement.json": st, "tampered.json": append(append([]byte{}, data...), ' ')}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cosignRun := func(args ...string) (string, error) {
		cmd := exec.Command(cosign, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=test-only")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cosignRun("generate-key-pair"); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	if out, err := cosignRun("attest-blob", "--statement", "statement.json", "--key", "cosign.key",
		"--use-signing-config=false", "--tlog-upload=false", "--bundle", "bench.sigstore.json", "--yes"); err != nil {
		t.Fatalf("attest-blob: %v\n%s", err, out)
	}
	verify := func(file string) (string, error) {
		return cosignRun("verify-blob-attestation", "--bundle", "bench.sigstore.json", "--key", "cosign.pub",
			"--insecure-ignore-tlog=true", "--type", bench.PredicateType, file)
	}
	if out, err := verify("bench.json"); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("verify-blob-attestation bench.json: %v\n%s", err, out)
	}
	if out, err := verify("tampered.json"); err == nil || !strings.Contains(out, "digest") {
		t.Fatalf("a changed bench.json verified: %v\n%s", err, out)
	}
}
