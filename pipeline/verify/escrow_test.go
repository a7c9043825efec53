package verify_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/escrow"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// escrowedBundle is a signed bundle that declares an escrow, with notes, changelog and audit
// summary written after the manifest and an escrow covering them.
func escrowedBundle(t *testing.T, key *keys.PrivateKey, files testbundle.Files) string {
	t.Helper()
	dir := t.TempDir()
	testbundle.Write(t, dir, files)
	if _, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Attestations: []string{bundle.AttestEscrow}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	write(t, dir, bundle.NotesFile, "# app v1.0.0\n\nRelease notes.\n")
	write(t, dir, bundle.ChangelogFile, "# Changelog\n\n## [1.0.0] - 2025-03-01\n")
	write(t, dir, bundle.AuditSummaryFile, "# Audit summary\n")
	if _, err := escrow.Write(dir, key, time.Unix(1740830400, 0)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEscrowVerifiesAndCoversTheNotes(t *testing.T) {
	key := newKey(t)
	r := run(t, escrowedBundle(t, key, testbundle.Default()), trusting(t, key))
	if !r.Verified || !r.Authenticated {
		t.Fatalf("escrowed bundle: %+v", r.Findings)
	}
	for _, f := range r.Findings {
		t.Errorf("unexpected finding: %+v", f) // no skip either: every record is covered
	}
	found := false
	for _, in := range r.Inputs {
		found = found || in.Path == bundle.EscrowSigFile
	}
	if !found {
		t.Fatalf("the escrow signature is not among the summary's inputs: %+v", r.Inputs)
	}
}

func TestNotesWithoutEscrowAreReportedUnchecked(t *testing.T) {
	key := newKey(t)
	dir := signedBundle(t, key)
	write(t, dir, bundle.NotesFile, "# notes\n")
	r := run(t, dir, trusting(t, key))
	if !r.Verified {
		t.Fatalf("undeclared escrow: %+v", r.Findings)
	}
	if len(r.Findings) != 1 || r.Findings[0].File != bundle.NotesFile || r.Findings[0].Status != verify.Skip {
		t.Fatalf("findings = %+v, want one skip for the uncovered notes", r.Findings)
	}
}

func TestEscrowTampering(t *testing.T) {
	key, other := newKey(t), newKey(t)
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		file    string
		problem string
	}{
		{"notes edited", func(t *testing.T, dir string) { edit(t, dir, bundle.NotesFile, "Release", "Evil") }, bundle.NotesFile, verify.ProblemAttestation},
		{"notes deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.NotesFile))) }, bundle.NotesFile, verify.ProblemAttestation},
		{"audit summary replaced", func(t *testing.T, dir string) { write(t, dir, bundle.AuditSummaryFile, "all good\n") }, bundle.AuditSummaryFile, verify.ProblemAttestation},
		{"changelog edited", func(t *testing.T, dir string) { edit(t, dir, bundle.ChangelogFile, "1.0.0", "1.0.1") }, bundle.ChangelogFile, verify.ProblemAttestation},
		{"escrow byte flipped", func(t *testing.T, dir string) { flip(t, dir, bundle.EscrowFile) }, "", ""},
		{"escrow deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.EscrowFile))) }, bundle.EscrowFile, verify.ProblemMissing},
		{"escrow and signature deleted", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, bundle.EscrowFile)))
			must(t, os.Remove(filepath.Join(dir, bundle.EscrowSigFile)))
		}, bundle.EscrowFile, verify.ProblemMissing},
		{"escrow signature deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.EscrowSigFile))) }, bundle.EscrowSigFile, verify.ProblemMissing},
		{"escrow re-signed by another key", func(t *testing.T, dir string) {
			_, err := sign.File(dir, bundle.EscrowFile, other)
			must(t, err)
		}, bundle.EscrowSigFile, verify.ProblemBadSignature},
		{"notes edited and escrow rebuilt with another key", func(t *testing.T, dir string) {
			edit(t, dir, bundle.NotesFile, "Release", "Evil")
			_, err := escrow.Write(dir, other, time.Unix(0, 0))
			must(t, err)
		}, bundle.EscrowSigFile, verify.ProblemBadSignature},
		{"escrow of another release by the same key", func(t *testing.T, dir string) {
			otherDir := escrowedBundle(t, key, testbundle.Files{"artifacts/x.tar.gz": "x"})
			for _, f := range []string{bundle.EscrowFile, bundle.EscrowSigFile} {
				data, err := os.ReadFile(filepath.Join(otherDir, f))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
			}
		}, bundle.ManifestFile, verify.ProblemAttestation},
		{"signed escrow with a hostile member", func(t *testing.T, dir string) {
			writeTarGz(t, filepath.Join(dir, bundle.EscrowFile), map[string]string{"../../etc/cron.d/x": "boom"})
			_, err := sign.File(dir, bundle.EscrowFile, key)
			must(t, err)
		}, bundle.EscrowFile, verify.ProblemMalformed},
		{"signed escrow without the manifest", func(t *testing.T, dir string) {
			writeTarGz(t, filepath.Join(dir, bundle.EscrowFile), map[string]string{bundle.NotesFile: "# app v1.0.0\n\nRelease notes.\n"})
			_, err := sign.File(dir, bundle.EscrowFile, key)
			must(t, err)
		}, bundle.EscrowFile, verify.ProblemAttestation},
		{"escrow replaced by a symlink", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.EscrowFile)
			must(t, os.Rename(p, p+".orig"))
			must(t, os.Symlink(bundle.EscrowFile+".orig", p))
		}, bundle.EscrowFile, verify.ProblemNotRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := escrowedBundle(t, key, testbundle.Default())
			tc.tamper(t, dir)
			r := run(t, dir, trusting(t, key))
			if r.Verified {
				t.Fatal("tampered escrow verified")
			}
			for _, f := range r.Findings {
				if f.Status == verify.Fail && f.Check != "escrow" && f.Check != "inventory" {
					t.Errorf("a check other than escrow failed: %+v", f)
				}
			}
			if tc.file == "" {
				assertFailed(t, r, bundle.EscrowFile, "")
				return
			}
			assertFailed(t, r, tc.file, tc.problem)
		})
	}
}

// assertFailed requires a failed finding about file with the problem ("" for any) and a
// message; with problem "" the finding may also be about the escrow's signature.
func assertFailed(t *testing.T, r *verify.Report, file, problem string) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Status != verify.Fail || f.Message == "" {
			continue
		}
		if problem == "" && (f.File == bundle.EscrowFile || f.File == bundle.EscrowSigFile) {
			return
		}
		if f.File == file && f.Problem == problem {
			return
		}
	}
	t.Fatalf("no %q failure for %s in %+v", problem, file, r.Findings)
}

func writeTarGz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		tw.Write([]byte(data))
	}
	must(t, tw.Close())
	must(t, zw.Close())
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
}
