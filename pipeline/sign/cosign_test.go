package sign_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// Interop with stock cosign (v3.1.3), a verifier and signer nobody here wrote. The binary is
// $RELIQUARY_COSIGN or `cosign` on PATH; without it these tests skip (CI installs it).

func cosignBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_COSIGN"); p != "" {
		return p
	}
	p, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign not found: set RELIQUARY_COSIGN or put cosign v3 on PATH (go install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3)")
	}
	return p
}

// cosign runs cosign in dir, offline: HOME and TUF_ROOT are empty temp dirs and every HTTP(S)
// request goes to a closed port, so a test passes only if cosign needs no network.
func cosign(t *testing.T, dir, password string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cosignBin(t), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=",
		"COSIGN_PASSWORD=" + password, "COSIGN_YES=true",
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// release writes a manifest into a fresh bundle directory.
func release(t *testing.T) (dir string, manifest []byte) {
	t.Helper()
	dir = t.TempDir()
	manifest = []byte(`{"project":"app","version":"v1.0.0","artifacts":[]}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, manifest
}

func verifyBlob(t *testing.T, dir, pub string) (string, error) {
	return cosign(t, dir, "", "verify-blob", "--bundle", bundle.ManifestSigFile, "--key", pub,
		"--insecure-ignore-tlog=true", bundle.ManifestFile)
}

// a) cosign accepts our manifest signature and rejects a tampered manifest.
func TestCosignVerifiesOurBundle(t *testing.T) {
	cosignBin(t)
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	files, err := keys.Write(filepath.Join(t.TempDir(), "release"), k, keys.WithPassword(keys.StaticPassword([]byte("pw"))))
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := release(t)
	if _, err := sign.Manifest(dir, "release", k); err != nil {
		t.Fatal(err)
	}
	if out, err := verifyBlob(t, dir, files.Public); err != nil {
		t.Fatalf("cosign rejected our bundle: %v\n%s", err, out)
	}
	// The copy shipped in keys/ is the same key, so it works too.
	if out, err := verifyBlob(t, dir, filepath.Join(dir, bundle.KeysDir, "release.pub")); err != nil {
		t.Fatalf("cosign rejected our bundle with keys/release.pub: %v\n%s", err, out)
	}
	tampered := []byte(`{"project":"app","version":"v1.0.1","artifacts":[]}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verifyBlob(t, dir, files.Public); err == nil {
		t.Fatalf("cosign accepted a tampered manifest:\n%s", out)
	}
	other, _ := keys.Generate()
	otherPub := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(otherPub, other.PublicKey().PEM(), 0o644)
	sign.Manifest(dir, "release", k) // re-sign the tampered manifest: valid, but not by other
	if out, err := verifyBlob(t, dir, otherPub); err == nil {
		t.Fatalf("cosign accepted our bundle with another key:\n%s", out)
	}
}

// a') cosign accepts our DSSE bundle of an in-toto SLSA statement, the form provenance takes.
func TestCosignVerifiesOurDSSE(t *testing.T) {
	cosignBin(t)
	k, _ := keys.Generate()
	dir := t.TempDir()
	artifact := []byte("artifact bytes")
	os.WriteFile(filepath.Join(dir, "app.tar.gz"), artifact, 0o644)
	os.WriteFile(filepath.Join(dir, "release.pub"), k.PublicKey().PEM(), 0o644)
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.tar.gz","digest":{"sha256":"%x"}}],`+
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},`+
		`"runDetails":{"builder":{"id":"https://example.com/b"}}}}`, sha256.Sum256(artifact))
	b, err := sign.DSSE([]byte(stmt), sign.InTotoPayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "provenance.sigstore.json"), b, 0o644)
	args := []string{"verify-blob-attestation", "--bundle", "provenance.sigstore.json", "--key", "release.pub",
		"--insecure-ignore-tlog=true", "--type", "slsaprovenance1", "app.tar.gz"}
	if out, err := cosign(t, dir, "", args...); err != nil {
		t.Fatalf("cosign rejected our DSSE bundle: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "app.tar.gz"), []byte("other bytes"), 0o644)
	if out, err := cosign(t, dir, "", args...); err == nil {
		t.Fatalf("cosign accepted a DSSE bundle for a changed artifact:\n%s", out)
	}
}

// b) a key made by `cosign generate-key-pair` loads here, and what it signs verifies with
// both trust and cosign.
func TestCosignKeySignsForBoth(t *testing.T) {
	cosignBin(t)
	for _, password := range []string{"cosign-pw", ""} {
		t.Run(fmt.Sprintf("password=%q", password), func(t *testing.T) {
			kdir := t.TempDir()
			if out, err := cosign(t, kdir, password, "generate-key-pair"); err != nil {
				t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
			}
			t.Setenv(keys.EnvPassword, "")
			os.Unsetenv(keys.EnvPassword)
			t.Setenv(keys.EnvCosignPassword, password)
			k, err := keys.Load(filepath.Join(kdir, "cosign.key"), keys.PasswordFromEnv())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := keys.Load(filepath.Join(kdir, "cosign.key"), keys.StaticPassword([]byte("wrong"))); !errors.Is(err, keys.ErrWrongPassword) {
				t.Errorf("cosign key with a wrong password: err = %v", err)
			}
			dir, manifest := release(t)
			if _, err := sign.Manifest(dir, "cosign", k); err != nil {
				t.Fatal(err)
			}
			pub := filepath.Join(kdir, "cosign.pub")
			tk, err := trust.LoadKeys(pub)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestSigFile))
			if _, err := tk.VerifyMessage(b, sha256.Sum256(manifest)); err != nil {
				t.Fatal(err)
			}
			if out, err := verifyBlob(t, dir, pub); err != nil {
				t.Fatalf("cosign rejected a bundle signed with its own key: %v\n%s", err, out)
			}
		})
	}
}

// c) cosign signs with a key written by keys.Write (what `reliquary keygen` runs), and trust
// accepts cosign's bundles: a message signature and a DSSE attestation.
func TestCosignSignsWithOurKey(t *testing.T) {
	cosignBin(t)
	k, _ := keys.Generate()
	kdir := t.TempDir()
	files, err := keys.Write(filepath.Join(kdir, "release"), k, keys.WithPassword(keys.StaticPassword([]byte("our-pw"))))
	if err != nil {
		t.Fatal(err)
	}
	dir, manifest := release(t)
	out, err := cosign(t, dir, "our-pw", "sign-blob", "--key", files.Private, "--use-signing-config=false",
		"--tlog-upload=false", "--bundle", bundle.ManifestSigFile, bundle.ManifestFile)
	if err != nil {
		t.Fatalf("cosign sign-blob with our key: %v\n%s", err, out)
	}
	tk, _ := trust.NewKeys(k.PublicKey())
	b, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestSigFile))
	if fp, err := tk.VerifyMessage(b, sha256.Sum256(manifest)); err != nil || fp != k.PublicKey().Fingerprint() {
		t.Fatalf("trust rejected cosign's bundle: %q, %v", fp, err)
	}
	if _, err := tk.VerifyMessage(b, sha256.Sum256([]byte("tampered"))); !errors.Is(err, trust.ErrDigestMismatch) {
		t.Errorf("tampered manifest: err = %v", err)
	}
	if out, err := cosign(t, dir, "wrong-pw", "sign-blob", "--key", files.Private, "--use-signing-config=false",
		"--tlog-upload=false", "--bundle", "x.json", bundle.ManifestFile); err == nil {
		t.Errorf("cosign signed with our key and a wrong password:\n%s", out)
	}

	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"manifest.json","digest":{"sha256":"%x"}}],`+
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/t"}}}`, sha256.Sum256(manifest))
	os.WriteFile(filepath.Join(dir, "stmt.json"), []byte(stmt), 0o644)
	out, err = cosign(t, dir, "our-pw", "attest-blob", "--key", files.Private, "--statement", "stmt.json",
		"--use-signing-config=false", "--tlog-upload=false", "--bundle", "att.sigstore.json")
	if err != nil {
		t.Fatalf("cosign attest-blob with our key: %v\n%s", err, out)
	}
	att, _ := os.ReadFile(filepath.Join(dir, "att.sigstore.json"))
	payload, _, err := tk.VerifyDSSE(att, sign.InTotoPayloadType)
	if err != nil {
		t.Fatalf("trust rejected cosign's DSSE bundle: %v", err)
	}
	if !strings.Contains(string(payload), "slsa.dev/provenance/v1") {
		t.Errorf("payload = %s", payload)
	}
}
