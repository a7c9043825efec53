package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/release"
)

// cli runs the CLI in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDigestThenVerify(t *testing.T) {
	dir := t.TempDir()
	testbundle.Write(t, dir, testbundle.Default())
	// Flags after the positional argument work as well as before it.
	if code, _, stderr := cli(t, "digest", dir, "--version", "v1.0.0", "--project", "app"); code != 0 {
		t.Fatalf("digest exit %d: %s", code, stderr)
	}
	if code, out, stderr := cli(t, "verify", dir, "--digests-only"); code != 0 || !strings.Contains(out, "VERIFIED (digests only") {
		t.Fatalf("verify exit %d: %s %s", code, out, stderr)
	}
	if code, out, _ := cli(t, "verify", "--json", "--digests-only", dir); code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, `"digestsOnly": true`) {
		t.Fatalf("verify --json exit %d, output %q", code, out)
	}
	os.WriteFile(filepath.Join(dir, "artifacts/app_v1.0.0.oci.tar"), []byte("swapped"), 0o644)
	code, out, stderr := cli(t, "verify", dir, "--json", "--digests-only")
	if code != exitFailed {
		t.Fatalf("verify of a changed bundle exit %d, want %d", code, exitFailed)
	}
	var report struct {
		Verified bool
		Findings []struct{ File, Problem string }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || report.Verified || len(report.Findings) == 0 ||
		report.Findings[0].File != "artifacts/app_v1.0.0.oci.tar" {
		t.Fatalf("report = %+v (%v)", report, err)
	}
	if !strings.Contains(stderr, "problem(s) found") {
		t.Fatalf("stderr does not say the gate failed: %q", stderr)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, exitOK},
		{[]string{"verify", "--help"}, exitOK},
		{[]string{"version"}, exitOK},
		{[]string{"nope"}, exitUsage},
		{[]string{"verify"}, exitUsage},
		{[]string{"verify", "a", "b"}, exitUsage},
		{[]string{"verify", "--bogus", "x"}, exitUsage},
		{[]string{"verify", "--digests-only", filepath.Join(t.TempDir(), "missing")}, exitUsage},
		{[]string{"digest", t.TempDir()}, exitUsage},                    // no --version
		{[]string{"digest", t.TempDir(), "--version", "v1"}, exitUsage}, // empty directory
		{[]string{"verify", "--log-format", "xml", t.TempDir()}, exitUsage},
	} {
		if code, _, stderr := cli(t, tc.args...); code != tc.code {
			t.Errorf("reliquary %v: exit %d, want %d (%s)", tc.args, code, tc.code, stderr)
		}
	}
}

func TestDoubleDashEndsFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "-odd")
	os.Mkdir(dir, 0o755)
	testbundle.Write(t, dir, testbundle.Files{"a.txt": "a"})
	if code, _, stderr := cli(t, "digest", "--version", "v1", "--", dir); code != 0 {
		t.Fatalf("digest -- DIR exit %d: %s", code, stderr)
	}
}

// Every stage of a release is a CLI command, so both runners run the same code.
func TestEveryStageIsACommand(t *testing.T) {
	for _, st := range release.Stages {
		found := false
		for _, c := range commands {
			found = found || c.name == st.Command
		}
		if !found {
			t.Errorf("stage %s: no `reliquary %s` command", st.Name, st.Command)
		}
	}
}

// TestDigestSHA512OptIn: the default manifest holds SHA-256 alone (the fast path); --sha512
// adds SHA-512 to every artifact, and the gate then checks it.
func TestDigestSHA512OptIn(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--sha256-only"}, false}, {[]string{"--sha512"}, true}} {
		dir := t.TempDir()
		testbundle.Write(t, dir, testbundle.Default())
		if code, _, stderr := cli(t, append([]string{"digest", dir, "--version", "v1.0.0"}, tc.args...)...); code != 0 {
			t.Fatalf("digest %v exit %d: %s", tc.args, code, stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(data), `"sha512"`); got != tc.want {
			t.Errorf("digest %v: manifest has sha512 = %v, want %v", tc.args, got, tc.want)
		}
		if code, out, stderr := cli(t, "verify", dir, "--digests-only", "--sha512"); code != 0 {
			t.Errorf("verify --sha512 after digest %v: exit %d: %s %s", tc.args, code, out, stderr)
		}
	}
}
