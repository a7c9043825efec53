package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// TestVerifySummary: --vsa writes an in-toto statement of the verdict for a verified bundle,
// and for a bundle without a manifest it writes nothing and keeps the gate's exit code 1
// (not 2: the bundle was read, and it must not be used).
func TestVerifySummary(t *testing.T) {
	dir, prefix := attestedRelease(t, "v1.0.0")
	out := filepath.Join(t.TempDir(), "vsa.json")
	if code, _, stderr := cli(t, "verify", dir, "--key", prefix+".pub", "--vsa", out); code != exitOK {
		t.Fatalf("verify --vsa: exit %d: %s", code, stderr)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			VerificationResult string `json:"verificationResult"`
		} `json:"predicate"`
	}
	data, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(data, &st) != nil || !strings.Contains(st.PredicateType, "verification_summary") || st.Predicate.VerificationResult != "PASSED" {
		t.Fatalf("summary of a verified bundle (%v): %s", err, data)
	}

	if err := os.Remove(filepath.Join(dir, bundle.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "vsa.json")
	code, _, stderr := cli(t, "verify", dir, "--key", prefix+".pub", "--vsa", out)
	if code != exitFailed || !strings.Contains(stderr, "no verification summary written") {
		t.Fatalf("verify --vsa without a manifest: exit %d, want %d with a warning: %s", code, exitFailed, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a summary was written for a bundle without a manifest (%v)", err)
	}
}

// TestVerifyExpectVersion: a validly signed release of another version fails the gate with
// exit 1 when the caller says which version it expects.
func TestVerifyExpectVersion(t *testing.T) {
	dir, prefix := attestedRelease(t, "v1.0.0")
	if code, _, stderr := cli(t, "verify", dir, "--key", prefix+".pub", "--expect-version", "v1.0.0"); code != exitOK {
		t.Fatalf("expecting the bundle's own version: exit %d: %s", code, stderr)
	}
	code, out, _ := cli(t, "verify", dir, "--key", prefix+".pub", "--expect-version", "v1.0.1")
	if code != exitFailed || !strings.Contains(out, "another release") || !strings.Contains(out, "v1.0.1") {
		t.Fatalf("expecting v1.0.1 of a v1.0.0 bundle: exit %d\n%s", code, out)
	}
	if code, _, _ := cli(t, "verify", dir, "--key", prefix+".pub", "--expect-project", "app"); code != exitUsage {
		t.Fatalf("--expect-project alone: exit %d, want %d", code, exitUsage)
	}
}
