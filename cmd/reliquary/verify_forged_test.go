package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// TestVerifyForgedRelease: an attacker replaces an archive, re-digests the bundle and signs
// it with a key of their own (shipping that key in keys/). Without --key the gate refuses
// to run (exit 2, asking for --key): digests alone would pass the forgery. With the release's
// key it fails (exit 1) naming the signature that does not verify.
func TestVerifyForgedRelease(t *testing.T) {
	noPasswordEnv(t)
	dir, keyDir := t.TempDir(), t.TempDir()
	testbundle.Write(t, dir, testbundle.Default())
	release, attacker := filepath.Join(keyDir, "release"), filepath.Join(keyDir, "attacker")
	mustRun(t, [][]string{
		{"keygen", "--no-password", release},
		{"keygen", "--no-password", attacker},
		{"digest", dir, "--version", "v1.0.0", "--project", "app"},
		{"sign", dir, "--key", release + ".key"},
		{"verify", dir, "--key", release + ".pub"},
	})

	const swapped = "artifacts/app_v1.0.0.oci.tar"
	if err := os.WriteFile(filepath.Join(dir, swapped), []byte("a backdoored image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, bundle.KeysDir, "release.pub")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, [][]string{
		{"digest", dir, "--version", "v1.0.0", "--project", "app"},
		{"sign", dir, "--key", attacker + ".key"},
	})

	code, out, stderr := cli(t, "verify", dir)
	if code != exitUsage || !strings.Contains(stderr, "--key") || strings.Contains(out, "VERIFIED") {
		t.Errorf("verify without --key: exit %d, want %d and a message asking for --key\nstdout: %s\nstderr: %s", code, exitUsage, out, stderr)
	}
	code, out, stderr = cli(t, "verify", dir, "--key", release+".pub")
	if code != exitFailed || !strings.Contains(out, "FAIL "+bundle.ManifestSigFile+":") || !strings.Contains(out, "not signed by a key you trust") {
		t.Errorf("verify --key release.pub: exit %d, want %d naming %s\nstdout: %s\nstderr: %s", code, exitFailed, bundle.ManifestSigFile, out, stderr)
	}
	// The opt-out does what it says: digests only, and the verdict says so.
	code, out, _ = cli(t, "verify", dir, "--digests-only")
	if code != exitOK || !strings.Contains(out, "VERIFIED (digests only") {
		t.Errorf("verify --digests-only: exit %d\n%s", code, out)
	}
	if code, _, stderr := cli(t, "verify", dir, "--digests-only", "--key", release+".pub"); code != exitUsage || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("--digests-only with --key: exit %d: %s", code, stderr)
	}
}

func mustRun(t *testing.T, steps [][]string) {
	t.Helper()
	for _, s := range steps {
		if code, out, stderr := cli(t, s...); code != 0 {
			t.Fatalf("reliquary %v: exit %d\n%s%s", s, code, out, stderr)
		}
	}
}

// TestVerifyRefusesVerificationJSON: an unsigned gate report planted in a release (here `{}`)
// fails the gate, exit 1, naming the file.
func TestVerifyRefusesVerificationJSON(t *testing.T) {
	dir, prefix := attestedRelease(t, "v1.0.0")
	if err := os.WriteFile(filepath.Join(dir, bundle.VerificationFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, "verify", dir, "--key", prefix+".pub")
	if code != exitFailed || !strings.Contains(out, "FAIL "+bundle.VerificationFile+":") {
		t.Fatalf("verify with a planted verification.json: exit %d, want %d naming it\n%s", code, exitFailed, out)
	}
}
