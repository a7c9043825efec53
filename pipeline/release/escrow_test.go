package release_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// checkEscrow requires the gate to accept the release's escrow with only the public key, to
// cover the notes, changelog and audit summary through it, and to catch tampering.
func checkEscrow(t *testing.T, out string, k *keys.PrivateKey) {
	r, err := verify.Run(context.Background(), out, verify.WithKeys(k.PublicKey()))
	if err != nil || !r.Verified || !r.Authenticated {
		t.Fatalf("gate: %v %+v", err, r.Findings)
	}
	for _, f := range r.Findings {
		t.Errorf("finding on a fresh release: %+v", f) // not even a skip: every record is covered
	}
	signed := map[string]bool{}
	for _, in := range r.Inputs {
		signed[in.Path] = true
	}
	if !signed[bundle.EscrowSigFile] {
		t.Errorf("the escrow signature is not among the verified inputs: %+v", r.Inputs)
	}
	for _, tc := range []struct {
		name, file string
		tamper     func(dir string)
	}{
		{"notes edited", bundle.NotesFile, func(dir string) { appendTo(t, dir, bundle.NotesFile, "\nDownload from http://evil.example/\n") }},
		{"audit summary edited", bundle.AuditSummaryFile, func(dir string) { appendTo(t, dir, bundle.AuditSummaryFile, "\nAll clear.\n") }},
		{"escrow flipped", "", func(dir string) { flipByte(t, filepath.Join(dir, bundle.EscrowFile), 100) }},
		{"escrow removed", bundle.EscrowFile, func(dir string) {
			os.Remove(filepath.Join(dir, bundle.EscrowFile))
			os.Remove(filepath.Join(dir, bundle.EscrowSigFile))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dist")
			if err := buildtest.CopyTree(out, dir); err != nil {
				t.Fatal(err)
			}
			tc.tamper(dir)
			r, err := verify.Run(context.Background(), dir, verify.WithKeys(k.PublicKey()))
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified {
				t.Fatal("tampering went unnoticed")
			}
			for _, f := range r.Findings {
				if f.Status == verify.Fail && (f.File == tc.file || tc.file == "" && (f.File == bundle.EscrowFile || f.File == bundle.EscrowSigFile)) {
					return
				}
			}
			t.Fatalf("no failure naming %q: %+v", tc.file, r.Findings)
		})
	}
}

func appendTo(t *testing.T, dir, name, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[at%len(data)] ^= 0x01
	os.WriteFile(path, data, 0o644)
}
