package sign_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

const statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func newKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func trustOf(t *testing.T, k *keys.PrivateKey) *trust.Keys {
	t.Helper()
	tk, err := trust.NewKeys(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// shape is the part of a bundle's JSON these tests look at.
type shape struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		TlogEntries []any `json:"tlogEntries"`
		Certificate any   `json:"certificate"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
	} `json:"messageSignature"`
	DsseEnvelope *struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []any  `json:"signatures"`
	} `json:"dsseEnvelope"`
}

func decode(t *testing.T, b []byte) shape {
	t.Helper()
	var s shape
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.MediaType != sign.BundleMediaType {
		t.Errorf("mediaType = %q", s.MediaType)
	}
	if s.VerificationMaterial.TlogEntries != nil || s.VerificationMaterial.Certificate != nil {
		t.Error("bundle has tlog entries or a certificate; want a bare key hint")
	}
	return s
}

func TestMessage(t *testing.T) {
	k := newKey(t)
	data := []byte(`{"version":"v1.0.0"}`)
	b, err := sign.Message(data, k)
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, b)
	sum := sha256.Sum256(data)
	if s.MessageSignature == nil || s.MessageSignature.MessageDigest.Algorithm != "SHA2_256" ||
		string(s.MessageSignature.MessageDigest.Digest) != string(sum[:]) {
		t.Fatalf("message digest wrong: %+v", s.MessageSignature)
	}
	if s.VerificationMaterial.PublicKey.Hint != k.PublicKey().Hint() {
		t.Error("hint is not the key's")
	}
	if fp, err := trustOf(t, k).VerifyMessage(b, sum); err != nil || fp != k.PublicKey().Fingerprint() {
		t.Fatalf("VerifyMessage = %q, %v", fp, err)
	}
	if _, err := sign.Message(data, nil); !errors.Is(err, sign.ErrSign) {
		t.Errorf("nil key: err = %v", err)
	}
}

func TestDSSE(t *testing.T) {
	k := newKey(t)
	b, err := sign.DSSE([]byte(statement), sign.InTotoPayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, b)
	if s.DsseEnvelope == nil || string(s.DsseEnvelope.Payload) != statement || len(s.DsseEnvelope.Signatures) != 1 {
		t.Fatalf("envelope wrong: %+v", s.DsseEnvelope)
	}
	payload, _, err := trustOf(t, k).VerifyDSSE(b, sign.InTotoPayloadType)
	if err != nil || string(payload) != statement {
		t.Fatalf("VerifyDSSE = %s, %v", payload, err)
	}
	for name, tc := range map[string]struct {
		payload, typ string
		key          *keys.PrivateKey
	}{
		"other payload type": {statement, "application/json", k},
		"not JSON":           {"{", sign.InTotoPayloadType, k},
		"not a statement":    {"[1]", sign.InTotoPayloadType, k}, // caught by the self-check
		"no key":             {statement, sign.InTotoPayloadType, nil},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sign.DSSE([]byte(tc.payload), tc.typ, tc.key); !errors.Is(err, sign.ErrSign) {
				t.Errorf("err = %v, want ErrSign", err)
			}
		})
	}
}

func writeManifest(t *testing.T, dir string) []byte {
	t.Helper()
	m := []byte(`{"artifacts":[]}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFile(t *testing.T) {
	k := newKey(t)
	dir := t.TempDir()
	m := writeManifest(t, dir)
	out, err := sign.File(dir, bundle.ManifestFile, k)
	if err != nil {
		t.Fatal(err)
	}
	if out != filepath.Join(dir, bundle.ManifestSigFile) {
		t.Errorf("wrote %s, want %s", out, bundle.ManifestSigFile)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trustOf(t, k).VerifyMessage(b, sha256.Sum256(m)); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "/etc/passwd", "link", "missing"} {
		if _, err := sign.File(dir, name, k); !errors.Is(err, sign.ErrSign) {
			t.Errorf("File(%q): err = %v, want ErrSign", name, err)
		}
	}
}

func TestManifest(t *testing.T) {
	k, other := newKey(t), newKey(t)
	dir := t.TempDir()
	if _, err := sign.Manifest(dir, "release", k); !errors.Is(err, sign.ErrNoManifest) {
		t.Fatalf("no manifest: err = %v", err)
	}
	m := writeManifest(t, dir)
	res, err := sign.Manifest(dir, "release", k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.LoadPublic(res.PublicKey)
	if err != nil || !pub.Equal(k.PublicKey()) {
		t.Fatalf("keys/release.pub: %v", err)
	}
	if res.PublicKey != filepath.Join(dir, bundle.KeysDir, "release.pub") || res.Fingerprint != k.PublicKey().Fingerprint() {
		t.Errorf("result = %+v", res)
	}
	// The shipped key verifies the bundle, as a user who chose to trust it would do.
	tk, err := trust.LoadKeys(res.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(res.Bundle)
	if _, err := tk.VerifyMessage(b, sha256.Sum256(m)); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", k); err != nil {
		t.Errorf("re-signing with the same key: %v", err)
	}
	if _, err := sign.Manifest(dir, "release", other); !errors.Is(err, sign.ErrKeyNameTaken) {
		t.Errorf("other key, same name: err = %v", err)
	}
	if _, err := sign.Manifest(dir, "next", other); err != nil {
		t.Errorf("rotation to a second key name: %v", err)
	}
	for _, name := range []string{"", "../x", "a/b", "."} {
		if _, err := sign.Manifest(dir, name, k); !errors.Is(err, sign.ErrSign) {
			t.Errorf("key name %q: err = %v", name, err)
		}
	}
}

// TestNoSecretInOutput signs with an unencrypted key and looks for the key, in every textual
// form, in every file written.
func TestNoSecretInOutput(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t)
	files, err := keys.Write(filepath.Join(t.TempDir(), "release"), k, keys.Unencrypted())
	if err != nil {
		t.Fatal(err)
	}
	writeManifest(t, dir)
	if _, err := sign.Manifest(dir, "release", k); err != nil {
		t.Fatal(err)
	}
	dsse, err := sign.DSSE([]byte(statement), sign.InTotoPayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	all.Write(dsse)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(files.Private)
	loaded, _ := x509.ParsePKCS8PrivateKey(pemBody(t, keyPEM))
	d, _ := loaded.(*ecdsa.PrivateKey).Bytes()
	der := pemBody(t, keyPEM)
	for _, secret := range []string{
		string(keyPEM), base64.StdEncoding.EncodeToString(der), hex.EncodeToString(der), string(der),
		hex.EncodeToString(d), strings.ToUpper(hex.EncodeToString(d)), base64.StdEncoding.EncodeToString(d),
		new(big.Int).SetBytes(d).String(), string(d),
	} {
		if strings.Contains(all.String(), secret) {
			t.Fatal("private key material found in signing output")
		}
	}
}

func pemBody(t *testing.T, pemBytes []byte) []byte {
	t.Helper()
	s := string(pemBytes)
	s = s[strings.Index(s, "\n")+1 : strings.Index(s, "-----END")]
	b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
