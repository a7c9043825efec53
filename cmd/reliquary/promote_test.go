package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// rcBundle makes a small signed and attested release candidate with the CLI's own stages.
func rcBundle(t *testing.T) (dir, prefix string) {
	return rcBundleOf(t, testbundle.Files{
		"artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz": "linux archive bytes",
		"artifacts/app_v1.0.0-rc.1.oci.tar":            "image bytes",
		"deps.lock.json":                               `{"schema":"x"}`,
	})
}

func rcBundleOf(t *testing.T, files testbundle.Files) (dir, prefix string) {
	t.Helper()
	noPasswordEnv(t)
	dir = t.TempDir()
	testbundle.Write(t, dir, files)
	prefix = filepath.Join(t.TempDir(), "release")
	for _, s := range [][]string{
		{"keygen", "--no-password", prefix},
		{"digest", dir, "--version", "v1.0.0-rc.1", "--project", "app", "--source-repo", "https://github.com/example/app", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", dir, "--key", prefix + ".key"},
		{"attest", dir, "--key", prefix + ".key", "--time", "2026-03-01T12:00:00Z", "--source-ref", "refs/tags/v1.0.0-rc.1"},
	} {
		if code, _, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s, code, stderr)
		}
	}
	return dir, prefix
}

func TestPromoteThenVerify(t *testing.T) {
	rc, prefix := rcBundle(t)
	out := filepath.Join(t.TempDir(), "final")
	code, stdout, stderr := cli(t, "promote", rc, "--version", "v1.0.0", "--key", prefix+".key", "--out", out)
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "promoted app v1.0.0-rc.1 to v1.0.0 into "+out) || !strings.Contains(stdout, "its binaries report v1.0.0-rc.1") {
		t.Fatalf("stdout: %s", stdout)
	}
	if code, stdout, stderr := cli(t, "verify", out, "--key", prefix+".pub"); code != 0 || !strings.Contains(stdout, "VERIFIED app v1.0.0") {
		t.Fatalf("verify the promoted release: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"artifacts/app_v1.0.0_linux_amd64.tar.gz", "artifacts/app_v1.0.0.oci.tar", bundle.NotesFile, bundle.ChangelogFile, bundle.AuditSummaryFile, bundle.EscrowFile, bundle.EscrowSigFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("promoted bundle lacks %s", f)
		}
	}
	// The same bytes: the archive is the candidate's.
	a, _ := os.ReadFile(filepath.Join(rc, "artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz"))
	b, _ := os.ReadFile(filepath.Join(out, "artifacts/app_v1.0.0_linux_amd64.tar.gz"))
	if string(a) != string(b) {
		t.Fatal("the promoted archive's bytes differ from the candidate's")
	}
}

func TestPromoteRefusals(t *testing.T) {
	rc, prefix := rcBundle(t)
	other := filepath.Join(t.TempDir(), "other")
	if code, _, stderr := cli(t, "keygen", "--no-password", other); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"wrong final version", []string{"promote", rc, "--version", "v1.1.0", "--key", prefix + ".key"}, exitUsage, "can only be promoted to v1.0.0"},
		{"no version", []string{"promote", rc, "--key", prefix + ".key"}, exitUsage, "--version is required"},
		{"no bundle", []string{"promote", "--version", "v1.0.0", "--key", prefix + ".key"}, exitUsage, "RC_BUNDLE"},
		{"candidate signed by another key", []string{"promote", rc, "--version", "v1.0.0", "--key", other + ".key"}, exitFailed, "does not verify, so it cannot be promoted"},
		{"candidate key given explicitly", []string{"promote", rc, "--version", "v1.0.0", "--key", other + ".key", "--rc-key", other + ".pub"}, exitFailed, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "final")
			code, _, stderr := cli(t, append(tc.args, "--out", out)...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a refused promotion wrote its output")
			}
		})
	}
	// A changed candidate is refused with exit 1 and names the file.
	os.WriteFile(filepath.Join(rc, "artifacts/app_v1.0.0-rc.1.oci.tar"), []byte("swapped"), 0o644)
	code, _, stderr := cli(t, "promote", rc, "--version", "v1.0.0", "--key", prefix+".key", "--out", filepath.Join(t.TempDir(), "final"))
	if code != exitFailed || !strings.Contains(stderr, "artifacts/app_v1.0.0-rc.1.oci.tar") {
		t.Fatalf("changed candidate: exit %d, %s", code, stderr)
	}
	// With the candidate's key trusted and a new key signing, a rotation works.
	rc2, prefix2 := rcBundle(t)
	out := filepath.Join(t.TempDir(), "final")
	if code, _, stderr := cli(t, "promote", rc2, "--version", "v1.0.0", "--key", other+".key", "--rc-key", prefix2+".pub", "--out", out); code != 0 {
		t.Fatalf("promotion with a rotated key: %s", stderr)
	}
	if code, _, stderr := cli(t, "verify", out, "--key", other+".pub"); code != 0 {
		t.Fatalf("verify with the new key: %s", stderr)
	}
}

// A candidate whose archive ships a private key passes the gate (its digests are intact) but
// fails promotion's least-privilege audit: exit 1, naming the entry.
func TestPromoteRefusesLeakedKey(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	dashes := strings.Repeat("-", 5) // never one literal: this test binary must not hold a key
	key := dashes + "BEGIN EC " + "PRIVATE KEY" + dashes + "\nMHcCAQEEIBkg\n" + dashes + "END EC PRIVATE KEY" + dashes + "\n"
	tw.WriteHeader(&tar.Header{Name: "deploy.pem", Mode: 0o644, Size: int64(len(key)), Typeflag: tar.TypeReg})
	tw.Write([]byte(key))
	tw.Close()
	zw.Close()
	rc, prefix := rcBundleOf(t, testbundle.Files{"artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz": buf.String()})
	out := filepath.Join(t.TempDir(), "final")
	code, _, stderr := cli(t, "promote", rc, "--version", "v1.0.0", "--key", prefix+".key", "--out", out)
	if code != exitFailed || !strings.Contains(stderr, "least-privilege audit") || !strings.Contains(stderr, "artifacts/app_v1.0.0_linux_amd64.tar.gz: deploy.pem") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a promotion that failed its audit left its output")
	}
}
