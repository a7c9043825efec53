package hardening_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/hardening"
	"github.com/sentientos/reliquary/pipeline/keys"
)

// keyMaterial is the release key in every form a leak could take, read from an unencrypted
// copy written for the test alone (never inside a scanned directory).
type keyMaterial struct {
	pkcs8, sec1, scalar []byte
	pem                 []byte
	encryptedPEM        []byte // the encrypted key file itself
}

func materialOf(t *testing.T, fx *fixture) keyMaterial {
	t.Helper()
	files, err := keys.Write(filepath.Join(t.TempDir(), "plain"), fx.key, keys.Unencrypted())
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(files.Private)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := os.ReadFile(fx.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	scalar, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return keyMaterial{pkcs8: block.Bytes, sec1: sec1, scalar: scalar, pem: pemData, encryptedPEM: enc}
}

// scannerFor looks for the key in DER (PKCS#8 and SEC1), the private scalar (whole, in
// 16-byte windows, and in decimal, as fmt prints a big.Int), PEM text (the lines that carry
// the scalar, any PRIVATE KEY header), the encrypted key file, and the passwords: each raw,
// in lower and upper hex, and in standard and URL-safe base64 at every alignment.
func scannerFor(t *testing.T, fx *fixture, m keyMaterial, passwords ...string) *hardening.Scanner {
	t.Helper()
	secrets := []hardening.Secret{
		hardening.Encoded("private key (PKCS#8 DER)", m.pkcs8),
		hardening.Encoded("private key (SEC1 DER)", m.sec1),
		hardening.Encoded("private scalar", m.scalar),
		hardening.Literal("private scalar (decimal)", new(big.Int).SetBytes(m.scalar).String()),
		hardening.Literal("a PEM private key header", "PRIVATE KEY-----"),
	}
	for i := 0; i+16 <= len(m.scalar); i += 8 {
		secrets = append(secrets, hardening.Encoded(fmt.Sprintf("private scalar bytes %d-%d", i, i+16), m.scalar[i:i+16]))
	}
	for i, line := range pemLines(m.pem)[:2] { // bytes 0-95 of the DER: the scalar is at 36-67
		secrets = append(secrets, hardening.Literal(fmt.Sprintf("PEM line %d", i+1), line))
	}
	for i, line := range pemLines(m.encryptedPEM) {
		secrets = append(secrets, hardening.Literal(fmt.Sprintf("encrypted key file line %d", i+1), line))
	}
	for _, pw := range passwords {
		secrets = append(secrets, hardening.Encoded("password "+pw, []byte(pw)))
	}
	s, err := hardening.NewScanner(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pemLines returns the base64 body lines of a PEM file that are long enough to search for.
func pemLines(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// TestNoSecretInReleaseOutputs scans every file of the three fixture releases (inside the
// archives, the OCI image's layers and the signed statements' payloads) and every line the
// releases logged, for the signing key and its password.
func TestNoSecretInReleaseOutputs(t *testing.T) {
	fx := getFixture(t)
	m := materialOf(t, fx)
	s := scannerFor(t, fx, m, fx.password)
	// Controls: the scan finds the key in its own PEM file, and it reaches into the OCI
	// image's compressed layers (the binary's import path is only there, compressed).
	if leaks := s.Bytes("control", m.pem); len(leaks) == 0 {
		t.Fatal("the scan does not find the key in its own PEM file")
	}
	probe, _ := hardening.NewScanner(hardening.Literal("import path", "example.com/multi/internal/greet"))
	leaks, err := probe.Dir(fx.cur)
	if err != nil || !strings.Contains(fmt.Sprint(leaks), ".oci.tar!blobs/sha256/") {
		t.Fatalf("the scan did not reach into the image layers: %v %v", leaks, err)
	}
	for _, dir := range []string{fx.cur, fx.old, fx.twin} {
		leaks, err := s.Dir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaks {
			t.Errorf("%s: %s", filepath.Base(dir), l)
		}
	}
	logs := map[string][]byte{"release stdout": fx.curStdout, "release stderr": fx.curStderr, "in-process release logs": fx.inprocLogs.Bytes()}
	for name, data := range logs {
		for _, l := range s.Bytes(name, data) {
			t.Errorf("%s", l)
		}
	}
	lines := 0
	for _, line := range bytes.Split(bytes.TrimSpace(fx.curStderr), []byte("\n")) {
		lines++
		if !json.Valid(line) {
			t.Errorf("release --log-format json wrote a line that is not JSON: %q", line)
		}
	}
	if lines < 10 {
		t.Errorf("the release logged only %d lines: the scan saw too little", lines)
	}
}

// TestKeyErrorsCarryNoSecret feeds every command that reads a key, and keys.Load itself,
// a wrong password and damaged key files, and scans each message: it names the file and
// the problem, never key material or a password.
func TestKeyErrorsCarryNoSecret(t *testing.T) {
	fx := getFixture(t)
	m := materialOf(t, fx)
	wrong := "hx-wrong-" + randomHex(12)
	s := scannerFor(t, fx, m, fx.password, wrong)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongFile := write("wrong-password", []byte(wrong+"\n"))
	flipped := bytes.Clone(m.pkcs8)
	flipped[0] ^= 0xff // the outer SEQUENCE tag: unparsable, the scalar intact in the file
	encBlock, _ := pem.Decode(m.encryptedPEM)
	encFlipped := bytes.Clone(encBlock.Bytes)
	encFlipped[len(encFlipped)/2] ^= 1
	cases := []struct {
		name, key, password string
	}{
		{"wrong password", fx.keyFile, wrongFile},
		{"encrypted key, damaged", write("damaged.key", pem.EncodeToMemory(&pem.Block{Type: encBlock.Type, Bytes: encFlipped})), fx.pwFile},
		{"encrypted key, truncated", write("truncated.key", m.encryptedPEM[:len(m.encryptedPEM)/2]), fx.pwFile},
		{"PKCS#8, damaged DER", write("pkcs8.key", pem.EncodeToMemory(&pem.Block{Type: keys.PKCS8PEMType, Bytes: flipped})), fx.pwFile},
		{"PKCS#8 under a SEC1 header", write("sec1.key", pem.EncodeToMemory(&pem.Block{Type: keys.SEC1PEMType, Bytes: m.pkcs8})), fx.pwFile},
		{"unknown PEM type", write("rsa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: m.pkcs8})), fx.pwFile},
		{"too large", write("large.key", bytes.Repeat(m.pem, keys.MaxKeyFileSize/len(m.pem)+1)), fx.pwFile},
		{"private key as the trusted public key", write("plain.key", m.pem), ""},
	}
	check := func(what, key, text string) {
		t.Helper()
		for _, l := range s.Bytes(what, []byte(text)) {
			t.Errorf("%s", l)
		}
		if !strings.Contains(text, filepath.Base(key)) {
			t.Errorf("%s: the message does not name the key file %s: %q", what, key, text)
		}
	}
	bundleCopy := filepath.Join(t.TempDir(), "bundle")
	if err := linkTree(fx.cur, bundleCopy); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range cases {
		if tc.password == "" { // verify takes public keys; give it the private one
			r := fx.run(ctx, "verify", bundleCopy, "--key", tc.key)
			if r.code != 2 {
				t.Errorf("%s: reliquary verify exit %d, want 2", tc.name, r.code)
			}
			check(tc.name+": reliquary verify", tc.key, r.stdout+r.stderr)
			_, err := keys.LoadPublic(tc.key)
			check(tc.name+": keys.LoadPublic", tc.key, fmt.Sprintf("%v %+v", err, err))
			continue
		}
		for _, args := range [][]string{
			{"release", "--source", fx.src, "--version", "v9.9.9", "--out", filepath.Join(dir, "out"), "--platforms", platform},
			{"sign", bundleCopy},
		} {
			r := fx.run(ctx, append(args, "--key", tc.key, "--password-file", tc.password, "--log-format", "json")...)
			if r.code != 2 {
				t.Errorf("%s: reliquary %s exit %d, want 2", tc.name, args[0], r.code)
			}
			check(fmt.Sprintf("%s: reliquary %s", tc.name, args[0]), tc.key, r.stdout+r.stderr)
		}
		pw, _ := os.ReadFile(tc.password)
		_, err := keys.Load(tc.key, keys.StaticPassword(bytes.TrimSpace(pw)))
		if err == nil {
			t.Fatalf("%s: keys.Load accepted the key", tc.name)
		}
		check(tc.name+": keys.Load", tc.key, fmt.Sprintf("%v %+v %#v", err, err, err))
	}
}

// TestPrivateKeyNeverPrints formats, marshals and logs the key every way Go code might.
func TestPrivateKeyNeverPrints(t *testing.T) {
	fx := getFixture(t)
	s := scannerFor(t, fx, materialOf(t, fx), fx.password)
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("key", "key", fx.key, "signer", fx.key.Signer(), "any", any(fx.key))
	}
	js, err := json.Marshal(map[string]any{"key": fx.key, "signer": fx.key.Signer()})
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("%v %+v %#v %s %q %x %v %+v", fx.key, fx.key, fx.key, fx.key, fx.key, fx.key, fx.key.Signer(), fx.key.Signer())
	for name, data := range map[string][]byte{"slog": logs.Bytes(), "json": js, "fmt": []byte(text)} {
		for _, l := range s.Bytes(name, data) {
			t.Errorf("%s", l)
		}
		if !bytes.Contains(data, []byte(fx.key.PublicKey().Fingerprint()[:16])) {
			t.Errorf("%s: the redacted form does not name the key's fingerprint: %s", name, data)
		}
	}
}
