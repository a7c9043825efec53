package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

func newKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func trusting(t *testing.T, ks ...*keys.PrivateKey) verify.Option {
	t.Helper()
	var pubs []*keys.PublicKey
	for _, k := range ks {
		pubs = append(pubs, k.PublicKey())
	}
	return verify.WithKeys(pubs...)
}

func signedBundle(t *testing.T, key *keys.PrivateKey) string {
	t.Helper()
	dir := testbundle.New(t, testbundle.Default())
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSignedBundleAuthenticates(t *testing.T) {
	key := newKey(t)
	r := run(t, signedBundle(t, key), trusting(t, newKey(t), key)) // rotation: any trusted key will do
	if !r.Verified || !r.Authenticated {
		t.Fatalf("signed bundle: verified=%v authenticated=%v %+v", r.Verified, r.Authenticated, r.Findings)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Path != bundle.ManifestSigFile {
		t.Fatalf("inputs = %+v", r.Inputs)
	}
}

func TestSignatureFailures(t *testing.T) {
	key, other := newKey(t), newKey(t)
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		trust   *keys.PrivateKey
		file    string
		problem string
	}{
		{"untrusted key", func(*testing.T, string) {}, other, bundle.ManifestSigFile, verify.ProblemBadSignature},
		{"signature deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, bundle.ManifestSigFile))) }, key, bundle.ManifestSigFile, verify.ProblemMissing},
		{"signature truncated", func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, bundle.ManifestSigFile), 40)) }, key, bundle.ManifestSigFile, verify.ProblemBadSignature},
		{"manifest re-digested after a change", func(t *testing.T, dir string) {
			// An attacker swaps an artifact and regenerates manifest and sums: only the signature catches it.
			write(t, dir, "artifacts/app_v1.0.0.oci.tar", "evil")
			testbundle.Redigest(t, dir)
		}, key, bundle.ManifestSigFile, verify.ProblemBadSignature},
		{"signature of another release", func(t *testing.T, dir string) {
			otherDir := testbundle.New(t, testbundle.Files{"artifacts/x.tar.gz": "x"})
			if _, err := sign.Manifest(otherDir, "release", key); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(otherDir, bundle.ManifestSigFile))
			must(t, os.WriteFile(filepath.Join(dir, bundle.ManifestSigFile), data, 0o644))
		}, key, bundle.ManifestSigFile, verify.ProblemBadSignature},
		{"private key in keys/", func(t *testing.T, dir string) {
			write(t, dir, "keys/leak.pub", "-----BEGIN "+"PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
		}, key, "keys/leak.pub", verify.ProblemUnexpected},
		{"declared provenance missing", func(t *testing.T, dir string) {
			edit(t, dir, bundle.ManifestFile, `"version": "v1.0.0",`, `"version": "v1.0.0", "attestations": ["provenance"],`)
			if _, err := sign.Manifest(dir, "release", key); err != nil {
				t.Fatal(err)
			}
		}, key, bundle.ProvenanceFile, verify.ProblemMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := signedBundle(t, key)
			tc.tamper(t, dir)
			r := run(t, dir, trusting(t, tc.trust))
			if r.Verified {
				t.Fatal("bundle verified")
			}
			for _, f := range r.Findings {
				if f.Status == verify.Fail && f.File == tc.file && f.Problem == tc.problem {
					return
				}
			}
			t.Fatalf("no %s finding for %s: %+v", tc.problem, tc.file, r.Findings)
		})
	}
}
