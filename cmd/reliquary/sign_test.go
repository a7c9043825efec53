package main

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trust"
)

const testPassword = "tr0ub4dor&3-for-tests"

// noPasswordEnv clears both password variables for the test.
func noPasswordEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{keys.EnvPassword, keys.EnvCosignPassword} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestKeygenSignVerify(t *testing.T) {
	noPasswordEnv(t)
	t.Setenv(keys.EnvPassword, testPassword)
	dir := t.TempDir()
	prefix := filepath.Join(t.TempDir(), "release")
	code, out, stderr := cli(t, "keygen", prefix)
	if code != 0 {
		t.Fatalf("keygen exit %d: %s", code, stderr)
	}
	if out != prefix+".key\n"+prefix+".pub\n" {
		t.Errorf("keygen stdout = %q", out)
	}
	if code, _, stderr := cli(t, "keygen", prefix); code != exitUsage || !strings.Contains(stderr, "exists") {
		t.Errorf("keygen over an existing key: exit %d, %s", code, stderr)
	}

	code, _, stderr = cli(t, "sign", dir, "--key", prefix+".key")
	if code != exitUsage || !strings.Contains(stderr, bundle.ManifestFile) {
		t.Fatalf("sign without a manifest: exit %d, %s", code, stderr)
	}
	manifest := []byte(`{"artifacts":[]}`)
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = cli(t, "sign", dir, "--key", prefix+".key")
	if code != 0 {
		t.Fatalf("sign exit %d: %s", code, stderr)
	}
	want := filepath.Join(dir, bundle.ManifestSigFile) + "\n" + filepath.Join(dir, bundle.KeysDir, "release.pub") + "\n"
	if out != want {
		t.Errorf("sign stdout = %q, want %q", out, want)
	}
	tk, err := trust.LoadKeys(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, bundle.ManifestSigFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.VerifyMessage(b, sha256.Sum256(manifest)); err != nil {
		t.Fatal(err)
	}

	t.Setenv(keys.EnvPassword, "wrong password")
	code, _, stderr = cli(t, "sign", dir, "--key", prefix+".key")
	if code != exitUsage || !strings.Contains(stderr, "wrong password") || !strings.Contains(stderr, prefix+".key") {
		t.Errorf("wrong password: exit %d, %s", code, stderr)
	}
}

func TestKeygenPasswordChoices(t *testing.T) {
	noPasswordEnv(t)
	prefix := filepath.Join(t.TempDir(), "k")
	// No password anywhere and no terminal: refuse, and say how to fix it.
	code, _, stderr := cli(t, "keygen", prefix)
	if code != exitUsage || !strings.Contains(stderr, keys.EnvPassword) || !strings.Contains(stderr, "--no-password") {
		t.Errorf("keygen without a password: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(prefix + ".key"); err == nil {
		t.Error("a refused keygen left a key file")
	}
	code, _, stderr = cli(t, "keygen", "--no-password", prefix)
	if code != 0 || !strings.Contains(stderr, "UNENCRYPTED") {
		t.Fatalf("keygen --no-password: exit %d, %s", code, stderr)
	}
	if b, _ := pem.Decode(mustRead(t, prefix+".key")); b == nil || b.Type != keys.PKCS8PEMType {
		t.Error("--no-password did not write a plain PKCS#8 key")
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p2 := filepath.Join(t.TempDir(), "k2")
	if code, _, stderr := cli(t, "keygen", "--password-file", pwFile, p2); code != 0 {
		t.Fatalf("keygen --password-file: exit %d, %s", code, stderr)
	}
	if _, err := keys.Load(p2+".key", keys.StaticPassword([]byte(testPassword))); err != nil {
		t.Errorf("key made with --password-file does not open with that password: %v", err)
	}
	if code, _, _ := cli(t, "keygen", "--no-password", "--password-file", pwFile, filepath.Join(t.TempDir(), "k3")); code != exitUsage {
		t.Errorf("conflicting flags: exit %d", code)
	}
	if code, _, stderr := cli(t, "keygen", "--no-password", filepath.Join(t.TempDir(), "k4.key")); code != exitUsage || !strings.Contains(stderr, "PREFIX") {
		t.Errorf("PREFIX ending in .key: exit %d, %s", code, stderr)
	}
}

// TestNoSecretLeaks runs keygen and sign, right and wrong, and looks for the password and the
// private key in every textual form in all output and every file written (except the key file
// itself).
func TestNoSecretLeaks(t *testing.T) {
	noPasswordEnv(t)
	t.Setenv(keys.EnvPassword, testPassword)
	dir, keyDir := t.TempDir(), t.TempDir()
	prefix := filepath.Join(keyDir, "release")
	var all strings.Builder
	record := func(code int, out, stderr string) { all.WriteString(out + stderr) }
	record(cli(t, "keygen", prefix))
	record(cli(t, "sign", dir, "--key", prefix+".key")) // no manifest yet: an error message
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	record(cli(t, "sign", dir, "--key", prefix+".key", "--log-format", "json"))
	record(cli(t, "sign", dir, "--key", prefix+".key"))
	t.Setenv(keys.EnvPassword, "not-"+testPassword)
	record(cli(t, "sign", dir, "--key", prefix+".key"))
	for _, d := range []string{dir, keyDir} {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && p != prefix+".key" {
				all.Write(mustRead(t, p))
			}
			return nil
		})
	}
	k, err := keys.Load(prefix+".key", keys.StaticPassword([]byte(testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	// Re-derive the secret's forms from an unencrypted copy.
	plain := filepath.Join(t.TempDir(), "plain")
	if _, err := keys.Write(plain, k, keys.Unencrypted()); err != nil {
		t.Fatal(err)
	}
	der := mustPEMBody(t, mustRead(t, plain+".key"))
	priv, _ := x509.ParsePKCS8PrivateKey(der)
	d, _ := priv.(*ecdsa.PrivateKey).Bytes()
	encBlock := mustPEMBody(t, mustRead(t, prefix+".key"))
	for name, secret := range map[string]string{
		"password": testPassword, "PKCS#8 DER": string(der), "PKCS#8 base64": base64.StdEncoding.EncodeToString(der),
		"scalar hex": hex.EncodeToString(d), "scalar HEX": strings.ToUpper(hex.EncodeToString(d)),
		"scalar base64": base64.StdEncoding.EncodeToString(d), "scalar decimal": new(big.Int).SetBytes(d).String(),
		"scalar raw": string(d), "encrypted key file body": base64.StdEncoding.EncodeToString(encBlock)[:64],
	} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("%s found in output or written files", name)
		}
	}
	if !strings.Contains(all.String(), "wrong password") {
		t.Error("the wrong-password run did not report it (the test would prove nothing)")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustPEMBody(t *testing.T, data []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("not PEM")
	}
	return b.Bytes
}
