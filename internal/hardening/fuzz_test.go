package hardening_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// FuzzGate loads a whole bundle whose manifest, SHA256SUMS and manifest signature are the
// fuzzer's: the gate never panics or fails to run, and it authenticates a bundle only when
// the manifest is byte for byte the one the key signed (the key signs nothing else).
func FuzzGate(f *testing.F) {
	key, err := keys.Generate()
	if err != nil {
		f.Fatal(err)
	}
	dir := testbundle.New(f, testbundle.Default())
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		f.Fatal(err)
	}
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	signed := read(bundle.ManifestFile)
	f.Add(signed, read(bundle.ChecksumsFile), read(bundle.ManifestSigFile))
	f.Add([]byte(`{"schema":"https://reliquary.dev/manifest/v1","artifacts":[{"path":"../x"}]}`), []byte("00  ../x\n"), []byte(`{}`))
	f.Add([]byte(`{"schema":"x","schema":"y"}`), []byte{}, []byte{})
	opt := verify.WithKeys(key.PublicKey())
	f.Fuzz(func(t *testing.T, manifest, sums, sig []byte) {
		for p, data := range map[string][]byte{bundle.ManifestFile: manifest, bundle.ChecksumsFile: sums, bundle.ManifestSigFile: sig} {
			if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r, err := verify.Run(context.Background(), dir, opt)
		if err != nil {
			t.Fatalf("the gate could not run: %v", err)
		}
		if r.Authenticated && !bytes.Equal(manifest, signed) {
			t.Fatalf("authenticated a manifest the key never signed:\n%s", manifest)
		}
		if r.Verified && !r.Authenticated {
			t.Fatal("verified with --key but not authenticated")
		}
		if !r.Verified && r.Failures() == 0 {
			t.Fatal("not verified, yet no failure is reported")
		}
	})
}
