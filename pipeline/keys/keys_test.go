package keys_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/term"

	"github.com/sentientos/reliquary/pipeline/keys"
)

var password = []byte("correct horse battery staple")

// writeKey generates a key and writes it under a temp dir, returning the key and its files.
func writeKey(t *testing.T, opts ...keys.WriteOption) (*keys.PrivateKey, keys.Files) {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	files, err := keys.Write(filepath.Join(t.TempDir(), "release"), k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k, files
}

func TestWriteLoadEncrypted(t *testing.T) {
	k, files := writeKey(t, keys.WithPassword(keys.StaticPassword(password)))
	if !files.Encrypted {
		t.Error("Files.Encrypted = false for an encrypted key")
	}
	pemBytes, err := os.ReadFile(files.Private)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(pemBytes); b == nil || b.Type != keys.EncryptedPEMType {
		t.Fatalf("private key file is not a %q PEM block", keys.EncryptedPEMType)
	}
	st, err := os.Stat(files.Private)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, want 0600", st.Mode().Perm())
	}
	got, err := keys.Load(files.Private, keys.StaticPassword(password))
	if err != nil {
		t.Fatal(err)
	}
	if !got.PublicKey().Equal(k.PublicKey()) {
		t.Error("loaded key differs from the generated one")
	}
	pub, err := keys.LoadPublic(files.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.PublicKey()) {
		t.Error("public key file differs from the generated key")
	}
}

func TestLoadWrongPassword(t *testing.T) {
	_, files := writeKey(t, keys.WithPassword(keys.StaticPassword(password)))
	_, err := keys.Load(files.Private, keys.StaticPassword([]byte("hunter2")))
	if !errors.Is(err, keys.ErrWrongPassword) {
		t.Fatalf("err = %v, want ErrWrongPassword", err)
	}
	if !strings.Contains(err.Error(), files.Private) {
		t.Errorf("error %q does not name the file", err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), string(password)) {
		t.Errorf("error %q contains a password", err)
	}
	_, err = keys.Load(files.Private, nil)
	if !errors.Is(err, keys.ErrNoPassword) {
		t.Errorf("no password source: err = %v, want ErrNoPassword", err)
	}
}

func TestWriteUnencrypted(t *testing.T) {
	k, files := writeKey(t, keys.Unencrypted())
	if files.Encrypted {
		t.Error("Files.Encrypted = true for an unencrypted key")
	}
	data, err := os.ReadFile(files.Private)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(data); b == nil || b.Type != keys.PKCS8PEMType {
		t.Fatalf("unencrypted key is not a %q PEM block", keys.PKCS8PEMType)
	}
	got, err := keys.Load(files.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.PublicKey().Equal(k.PublicKey()) {
		t.Error("loaded key differs")
	}
}

func TestWriteRefuses(t *testing.T) {
	k, files := writeKey(t, keys.Unencrypted())
	prefix := strings.TrimSuffix(files.Private, keys.PrivateSuffix)
	before, _ := os.ReadFile(files.Private)
	for name, opts := range map[string][]keys.WriteOption{
		"existing files":  {keys.Unencrypted()},
		"no option":       nil,
		"both options":    {keys.Unencrypted(), keys.WithPassword(keys.StaticPassword(password))},
		"empty password":  {keys.WithPassword(keys.StaticPassword(nil))},
		"password errors": {keys.WithPassword(func(keys.PasswordRequest) ([]byte, error) { return nil, errors.New("no tty") })},
	} {
		t.Run(name, func(t *testing.T) {
			p := prefix
			if name != "existing files" {
				p = filepath.Join(t.TempDir(), "k")
			}
			if _, err := keys.Write(p, k, opts...); err == nil {
				t.Fatal("Write succeeded")
			}
			if name != "existing files" {
				if _, err := os.Stat(p + keys.PrivateSuffix); err == nil {
					t.Error("a failed Write left a private key file behind")
				}
			}
		})
	}
	after, _ := os.ReadFile(files.Private)
	if !bytes.Equal(before, after) {
		t.Error("Write replaced an existing key")
	}
	// Only the .pub existing is enough to refuse.
	p := filepath.Join(t.TempDir(), "only-pub")
	if err := os.WriteFile(p+keys.PublicSuffix, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Write(p, k, keys.Unencrypted()); !errors.Is(err, keys.ErrExists) {
		t.Errorf("err = %v, want ErrExists", err)
	}
}

// pemFile writes one PEM block to a temp file.
func pemFile(t *testing.T, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFormats(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8 := func(k any) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	sec1, _ := x509.MarshalECPrivateKey(ec)
	big := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), keys.MaxKeyFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		wantErr error
	}{
		{"pkcs8", pemFile(t, keys.PKCS8PEMType, pkcs8(ec)), nil},
		{"sec1", pemFile(t, keys.SEC1PEMType, sec1), nil},
		{"p384", pemFile(t, keys.PKCS8PEMType, pkcs8(p384)), keys.ErrUnsupported},
		{"rsa", pemFile(t, keys.PKCS8PEMType, pkcs8(rsaKey)), keys.ErrUnsupported},
		{"public key as private", pemFile(t, keys.PublicKeyPEMType, []byte("x")), keys.ErrMalformed},
		{"corrupt pkcs8", pemFile(t, keys.PKCS8PEMType, []byte("x")), keys.ErrMalformed},
		{"corrupt encrypted", pemFile(t, keys.EncryptedPEMType, []byte("{}")), keys.ErrMalformed},
		{"too large", big, keys.ErrMalformed},
		{"not PEM", garbage, keys.ErrMalformed},
		{"missing", filepath.Join(t.TempDir(), "nope"), os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys.Load(tc.path, keys.StaticPassword(password))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !k.PublicKey().ECDSA().Equal(&ec.PublicKey) {
					t.Error("wrong key loaded")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestPublicKeyIDs(t *testing.T) {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	sum := sha256.Sum256(der)
	pub := k.PublicKey()
	if got, want := pub.Fingerprint(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if got, want := pub.Hint(), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Hint = %s, want %s", got, want)
	}
	if fp, _ := keys.Fingerprint(k.Public()); fp != pub.Fingerprint() {
		t.Error("keys.Fingerprint differs from PublicKey.Fingerprint")
	}
	if h, _ := keys.Hint(k.Public()); h != pub.Hint() {
		t.Error("keys.Hint differs from PublicKey.Hint")
	}
	if string(k.Keypair().GetHint()) != pub.Hint() {
		t.Error("Keypair hint differs from PublicKey.Hint")
	}
	if _, err := keys.Fingerprint("not a key"); !errors.Is(err, keys.ErrUnsupported) {
		t.Errorf("Fingerprint(string) err = %v", err)
	}
}

func TestParsePublic(t *testing.T) {
	k, _ := keys.Generate()
	good := k.PublicKey().PEM()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"good", good, nil},
		{"trailing key", append(append([]byte{}, good...), good...), keys.ErrMalformed},
		{"private type", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), keys.ErrMalformed},
		{"p384", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der384}), keys.ErrUnsupported},
		{"empty", nil, keys.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := keys.ParsePublic(tc.in)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && !pub.Equal(k.PublicKey()) {
				t.Error("parsed a different key")
			}
		})
	}
}

func TestKeypairSignsVerifiably(t *testing.T) {
	k, _ := keys.Generate()
	msg := []byte("manifest bytes")
	sig, digest, err := k.Keypair().SignData(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(msg)
	if !bytes.Equal(digest, sum[:]) {
		t.Error("SignData did not return the SHA-256 of the data")
	}
	if !ecdsa.VerifyASN1(k.PublicKey().ECDSA(), sum[:], sig) {
		t.Error("signature does not verify")
	}
	if _, err := k.Signer().Sign(rand.Reader, msg, nil); err == nil {
		t.Error("Signer signed a non-digest without hash options")
	}
}

// secretForms are the ways a P-256 private key could leak as text.
func secretForms(t *testing.T, k *keys.PrivateKey, files keys.Files) []string {
	t.Helper()
	pemBytes, err := os.ReadFile(files.Private)
	if err != nil {
		t.Fatal(err)
	}
	var d []byte
	if b, _ := pem.Decode(pemBytes); b != nil && b.Type == keys.PKCS8PEMType {
		priv, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		d, err = priv.(*ecdsa.PrivateKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return []string{
			string(pemBytes), base64.StdEncoding.EncodeToString(b.Bytes), string(b.Bytes),
			hex.EncodeToString(d), fmt.Sprintf("%X", d), new(big.Int).SetBytes(d).String(),
			base64.StdEncoding.EncodeToString(d), string(d),
		}
	}
	t.Fatal("secretForms needs an unencrypted key")
	return nil
}

func TestNoSecretInText(t *testing.T) {
	k, files := writeKey(t, keys.Unencrypted())
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "k", k, "signer", k.Signer(), "kp", k.Keypair())
	slog.New(slog.NewTextHandler(&logs, nil)).Info("key", "k", k, "signer", k.Signer())
	js, _ := json.Marshal(struct {
		K *keys.PrivateKey
		S any
	}{k, k.Signer()})
	var text strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		fmt.Fprintf(&text, verb+"\n", k)
		fmt.Fprintf(&text, verb+"\n", k.Signer())
		fmt.Fprintf(&text, verb+"\n", k.Keypair())
		fmt.Fprintf(&text, verb+"\n", *k)
	}
	all := text.String() + logs.String() + string(js)
	if !strings.Contains(all, k.PublicKey().Fingerprint()) {
		t.Error("redacted form should name the key's fingerprint")
	}
	for _, secret := range secretForms(t, k, files) {
		if len(secret) >= 8 && strings.Contains(all, secret) {
			t.Fatalf("private key material leaked into text output:\n%s", all)
		}
	}
}

func TestPasswordFromEnv(t *testing.T) {
	_, files := writeKey(t, keys.WithPassword(keys.StaticPassword(password)))
	for _, tc := range []struct {
		name              string
		reliquary, cosign *string
		wantErr           error
	}{
		{"RELIQUARY_PASSWORD", ptr(string(password)), nil, nil},
		{"COSIGN_PASSWORD", nil, ptr(string(password)), nil},
		{"RELIQUARY_PASSWORD wrong, COSIGN_PASSWORD right", ptr("other key's"), ptr(string(password)), nil},
		{"both wrong", ptr("a"), ptr("b"), keys.ErrWrongPassword},
		{"empty counts as set", ptr(""), nil, keys.ErrWrongPassword},
		{"neither, no terminal", nil, nil, keys.ErrNoPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr == keys.ErrNoPassword && term.IsTerminal(int(os.Stdin.Fd())) {
				t.Skip("stdin is a terminal: PasswordFromEnv would prompt")
			}
			for name, v := range map[string]*string{keys.EnvPassword: tc.reliquary, keys.EnvCosignPassword: tc.cosign} {
				t.Setenv(name, "")
				if v == nil {
					os.Unsetenv(name)
				} else {
					os.Setenv(name, *v)
				}
			}
			_, err := keys.Load(files.Private, keys.PasswordFromEnv())
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), string(password)) {
				t.Error("error contains the password")
			}
		})
	}
}

func ptr(s string) *string { return &s }
