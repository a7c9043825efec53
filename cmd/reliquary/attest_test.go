package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// attestedRelease runs keygen, digest, sign and attest on a test bundle and returns the
// bundle directory and the key prefix.
func attestedRelease(t *testing.T, version string) (string, string) {
	t.Helper()
	noPasswordEnv(t)
	dir := t.TempDir()
	testbundle.Write(t, dir, testbundle.Default())
	prefix := filepath.Join(t.TempDir(), "release")
	steps := [][]string{
		{"keygen", "--no-password", prefix},
		{"digest", dir, "--version", version, "--source-repo", "https://github.com/example/app", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", dir, "--key", prefix + ".key"},
	}
	for _, s := range steps {
		if code, _, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s, code, stderr)
		}
	}
	code, out, stderr := cli(t, "attest", dir, "--key", prefix+".key", "--time", "2026-03-01T12:00:00Z", "--source-ref", "refs/tags/"+version)
	if code != 0 {
		t.Fatalf("attest: exit %d: %s", code, stderr)
	}
	for _, want := range []string{bundle.ProvenanceFile, "links/digest.", "links/sign.", "links/attest.", bundle.LayoutFile} {
		if !strings.Contains(out, want) {
			t.Errorf("attest stdout lacks %s:\n%s", want, out)
		}
	}
	return dir, prefix
}

func TestAttestThenVerify(t *testing.T) {
	dir, prefix := attestedRelease(t, "v1.0.0")
	code, out, stderr := cli(t, "verify", dir, "--key", prefix+".pub")
	if code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Fatalf("verify of an attested release: exit %d\n%s\n%s", code, out, stderr)
	}
	// Attesting again is idempotent for the statements: same input, same provenance payload.
	before, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	if code, _, stderr := cli(t, "attest", dir, "--key", prefix+".key", "--time", "2026-03-01T12:00:00Z", "--source-ref", "refs/tags/v1.0.0"); code != 0 {
		t.Fatalf("second attest: %s", stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	if payload(t, before) != payload(t, after) {
		t.Error("the same release attested twice gave different statements")
	}
}

// payload extracts the DSSE payload (base64) from a bundle, which is deterministic where the
// ECDSA signature is not.
func payload(t *testing.T, bundleJSON []byte) string {
	t.Helper()
	s := string(bundleJSON)
	i := strings.Index(s, `"payload"`)
	if i < 0 {
		t.Fatalf("no payload in %s", s)
	}
	rest := s[i+len(`"payload"`):]
	start := strings.IndexByte(rest, '"')
	end := strings.IndexByte(rest[start+1:], '"')
	return rest[start+1 : start+1+end]
}

func TestAttestReplayedProvenanceIsRejected(t *testing.T) {
	dir, prefix := attestedRelease(t, "v1.0.0")
	old, err := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	// Cut v1.0.1 from the same files, then put v1.0.0's (validly signed) provenance back.
	for _, s := range [][]string{
		{"digest", dir, "--version", "v1.0.1", "--source-repo", "https://github.com/example/app", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", dir, "--key", prefix + ".key"},
		{"attest", dir, "--key", prefix + ".key", "--time", "2026-03-02T12:00:00Z"},
	} {
		if code, _, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: %s", s, stderr)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ProvenanceFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, "verify", dir, "--key", prefix+".pub")
	if code != exitFailed || !strings.Contains(out, `want "v1.0.1"`) || !strings.Contains(out, `got "v1.0.0"`) {
		t.Fatalf("verify of a replayed statement: exit %d\n%s", code, out)
	}
}

func TestAttestBadInput(t *testing.T) {
	noPasswordEnv(t)
	prefix := filepath.Join(t.TempDir(), "release")
	if code, _, stderr := cli(t, "keygen", "--no-password", prefix); code != 0 {
		t.Fatal(stderr)
	}
	plain := t.TempDir()
	testbundle.Write(t, plain, testbundle.Default())
	if code, _, stderr := cli(t, "digest", plain, "--version", "v1.0.0"); code != 0 {
		t.Fatal(stderr)
	}
	withSource := t.TempDir()
	testbundle.Write(t, withSource, testbundle.Default())
	if code, _, stderr := cli(t, "digest", withSource, "--version", "v1.0.0", "--source-repo", "https://github.com/example/app", "--source-commit", testCommit); code != 0 {
		t.Fatal(stderr)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no manifest", []string{"attest", t.TempDir(), "--key", prefix + ".key"}, "manifest.json"},
		{"no key", []string{"attest", plain}, "--key is required"},
		{"no source", []string{"attest", plain, "--key", prefix + ".key", "--time", "2026-03-01T12:00:00Z"}, "--source-repo"},
		{"bad commit", []string{"attest", plain, "--key", prefix + ".key", "--source-repo", "https://x.example/r", "--source-commit", "main"}, "source.commit"},
		{"contradicts manifest", []string{"attest", withSource, "--key", prefix + ".key", "--source-commit", strings.Repeat("f", 40)}, "contradicts the manifest"},
		{"bad time", []string{"attest", withSource, "--key", prefix + ".key", "--time", "yesterday"}, "--time"},
		{"bad builder id", []string{"attest", withSource, "--key", prefix + ".key", "--builder-id", "my laptop"}, "builder.id"},
		{"key is a public key", []string{"attest", withSource, "--key", prefix + ".pub"}, "release.pub"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, stderr, exitUsage, c.want)
			}
			if strings.Contains(stderr, "PRIVATE KEY") {
				t.Fatalf("key material in an error: %s", stderr)
			}
		})
	}
}

// A source without a published repository is attested by commit alone.
func TestAttestWithoutRepository(t *testing.T) {
	noPasswordEnv(t)
	dir := t.TempDir()
	testbundle.Write(t, dir, testbundle.Default())
	prefix := filepath.Join(t.TempDir(), "release")
	for _, s := range [][]string{
		{"keygen", "--no-password", prefix},
		{"digest", dir, "--version", "v1.0.0", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", dir, "--key", prefix + ".key"},
		{"attest", dir, "--key", prefix + ".key", "--time", "2026-03-01T12:00:00Z"},
		{"verify", dir, "--key", prefix + ".pub"},
	} {
		if code, out, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", s, code, out, stderr)
		}
	}
}
