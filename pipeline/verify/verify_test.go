package verify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/verify"
)

func run(t *testing.T, dir string, opts ...verify.Option) *verify.Report {
	t.Helper()
	r, err := verify.Run(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("verify.Run: %v", err)
	}
	return r
}

func TestIntactBundleVerifies(t *testing.T) {
	r := run(t, testbundle.New(t, testbundle.Default()), verify.WithSHA512(), verify.WithDigestsOnlyUnsafe())
	if !r.Verified || r.Failures() != 0 {
		t.Fatalf("intact bundle failed: %+v", r.Findings)
	}
	if r.Authenticated {
		t.Fatal("report claims authentication without any key")
	}
	if r.Project != "app" || r.Version != "v1.0.0" || len(r.ManifestSHA256) != 64 {
		t.Fatalf("report header = %q %q %q", r.Project, r.Version, r.ManifestSHA256)
	}
}

const zip = "artifacts/app_v1.0.0_windows_amd64.zip"

// Each tampering case must fail the gate with a finding that names the file and the problem.
func TestTamperingIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		file    string
		problem string
	}{
		{"flip a byte", func(t *testing.T, dir string) { flip(t, dir, zip) }, zip, verify.ProblemDigestMismatch},
		{"truncate", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, zip), 3)) }, zip, verify.ProblemSizeMismatch},
		{"delete", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, zip))) }, zip, verify.ProblemMissing},
		{"add a file", func(t *testing.T, dir string) { write(t, dir, "artifacts/evil.sh", "x") }, "artifacts/evil.sh", verify.ProblemUnexpected},
		{"rename", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, zip), filepath.Join(dir, zip+".old")))
		}, zip + ".old", verify.ProblemUnexpected},
		{"symlink inside", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, zip)))
			must(t, os.Symlink("app_v1.0.0.oci.tar", filepath.Join(dir, zip)))
		}, zip, verify.ProblemNotRegular},
		{"symlink outside", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, zip)))
			must(t, os.Symlink("/etc/hostname", filepath.Join(dir, zip)))
		}, zip, verify.ProblemNotRegular},
		{"stray symlink", func(t *testing.T, dir string) { must(t, os.Symlink("/", filepath.Join(dir, "root"))) }, "root", verify.ProblemNotRegular},
		{"fifo", func(t *testing.T, dir string) { must(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644)) }, "pipe", verify.ProblemNotRegular},
		{"leftover temp file", func(t *testing.T, dir string) { write(t, dir, ".manifest.json.tmp-42", "{") }, ".manifest.json.tmp-42", verify.ProblemUnexpected},
		{"checksums edited", func(t *testing.T, dir string) { write(t, dir, bundle.ChecksumsFile, "") }, bundle.ChecksumsFile, verify.ProblemDigestMismatch},
		{"checksums deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.ChecksumsFile))) }, bundle.ChecksumsFile, verify.ProblemMissing},
		{"manifest truncated", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, bundle.ManifestFile), 50)) }, bundle.ManifestFile, verify.ProblemMalformed},
		{"manifest deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.ManifestFile))) }, bundle.ManifestFile, verify.ProblemMissing},
		{"manifest duplicate key", func(t *testing.T, dir string) {
			edit(t, dir, bundle.ManifestFile, `"project": "app"`, `"project": "app", "project": "app"`)
		}, bundle.ManifestFile, verify.ProblemMalformed},
		{"manifest sparse 3 GiB", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, bundle.ManifestFile), 3<<30)) }, bundle.ManifestFile, verify.ProblemMalformed},
		{"huge sparse artifact", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, zip), 1<<40)) }, zip, verify.ProblemSizeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testbundle.New(t, testbundle.Default())
			tc.tamper(t, dir)
			r := run(t, dir, verify.WithDigestsOnlyUnsafe())
			if r.Verified {
				t.Fatal("tampered bundle verified")
			}
			for _, f := range r.Findings {
				if f.Status == verify.Fail && f.File == tc.file && f.Problem == tc.problem && f.Message != "" {
					return
				}
			}
			t.Fatalf("no %s finding for %s; findings: %+v", tc.problem, tc.file, r.Findings)
		})
	}
}

// The gate reports every problem in one pass, not just the first.
func TestAllProblemsInOnePass(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default())
	flip(t, dir, zip)
	must(t, os.Remove(filepath.Join(dir, "artifacts/app_v1.0.0.oci.tar")))
	write(t, dir, "unexpected.txt", "x")
	r := run(t, dir, verify.WithDigestsOnlyUnsafe())
	got := map[string]string{}
	for _, f := range r.Findings {
		if f.Status == verify.Fail {
			got[f.File] = f.Problem
		}
	}
	want := map[string]string{zip: verify.ProblemDigestMismatch, "artifacts/app_v1.0.0.oci.tar": verify.ProblemMissing, "unexpected.txt": verify.ProblemUnexpected}
	for f, p := range want {
		if got[f] != p {
			t.Errorf("%s: problem %q, want %q (all: %v)", f, got[f], p, got)
		}
	}
	var text strings.Builder
	r.WriteText(&text)
	for f := range want {
		if !strings.Contains(text.String(), f) {
			t.Errorf("text report does not name %s:\n%s", f, text.String())
		}
	}
}

func TestReservedRecordsWithoutKeyAreSkippedNotPassed(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default())
	write(t, dir, bundle.ManifestSigFile, "{}")
	r := run(t, dir, verify.WithDigestsOnlyUnsafe())
	if !r.Verified {
		t.Fatalf("unexpected failure: %+v", r.Findings)
	}
	for _, f := range r.Findings {
		if f.File == bundle.ManifestSigFile && f.Status == verify.Skip {
			return
		}
	}
	t.Fatalf("signature file not reported as skipped: %+v", r.Findings)
}

func TestMissingBundleIsAnError(t *testing.T) {
	if _, err := verify.Run(context.Background(), filepath.Join(t.TempDir(), "nope"), verify.WithDigestsOnlyUnsafe()); err == nil {
		t.Fatal("verify of a missing directory returned no error")
	}
}

func flip(t *testing.T, dir, p string) {
	t.Helper()
	full := filepath.Join(dir, p)
	data, err := os.ReadFile(full)
	must(t, err)
	data[0] ^= 0x80
	must(t, os.WriteFile(full, data, 0o644))
}

func write(t *testing.T, dir, p, content string) {
	t.Helper()
	testbundle.Write(t, dir, testbundle.Files{p: content})
}

func edit(t *testing.T, dir, p, from, to string) {
	t.Helper()
	full := filepath.Join(dir, p)
	data, err := os.ReadFile(full)
	must(t, err)
	s := strings.Replace(string(data), from, to, 1)
	if s == string(data) {
		t.Fatalf("edit of %s did not apply", p)
	}
	must(t, os.WriteFile(full, []byte(s), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Secure by default: no trusted key, no gate, unless the caller opts out by name; the verdict
// of a digests-only run says what it did not check.
func TestNoTrustedKeyRefusesToRun(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default())
	if _, err := verify.Run(context.Background(), dir, verify.WithSHA512()); !errors.Is(err, verify.ErrNoTrustedKey) {
		t.Fatalf("Run without a key: err %v, want ErrNoTrustedKey", err)
	}
	key, err := keys.Generate()
	must(t, err)
	if _, err := verify.Run(context.Background(), dir, verify.WithKeys(key.PublicKey()), verify.WithDigestsOnlyUnsafe()); err == nil {
		t.Fatal("a trusted key and WithDigestsOnlyUnsafe together were accepted")
	}
	r := run(t, dir, verify.WithDigestsOnlyUnsafe())
	var text strings.Builder
	r.WriteText(&text)
	if !r.Verified || !r.DigestsOnly || r.Authenticated || !strings.Contains(text.String(), "VERIFIED (digests only") {
		t.Fatalf("digests-only run: verified=%v digestsOnly=%v authenticated=%v\n%s", r.Verified, r.DigestsOnly, r.Authenticated, text.String())
	}
}
