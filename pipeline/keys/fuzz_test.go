package keys

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
)

// FuzzParsePrivate: any bytes either parse into a P-256 key or fail with an error from the
// package's tree; never a panic.
func FuzzParsePrivate(f *testing.F) {
	k, err := Generate()
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k.priv)
	sec1, _ := x509.MarshalECPrivateKey(k.priv)
	block, err := privateBlock(k, "seed", writeConfig{password: StaticPassword([]byte("pw"))})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(&pem.Block{Type: PKCS8PEMType, Bytes: der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: SEC1PEMType, Bytes: sec1}))
	f.Add(pem.EncodeToMemory(block))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: []byte(`{"kdf":{"name":"scrypt","params":{"N":1,"r":1,"p":1}}}`)}))
	f.Add([]byte("-----BEGIN " + "PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parsePrivate(data, "fuzz", StaticPassword([]byte("pw")))
		if err == nil && key.PublicKey() == nil {
			t.Fatal("nil public key without an error")
		}
		if err != nil && !errors.Is(err, ErrKey) {
			t.Fatalf("error outside the tree: %v", err)
		}
	})
}

// FuzzParsePublic: the same for public keys.
func FuzzParsePublic(f *testing.F) {
	k, err := Generate()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.PublicKey().PEM())
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublic(data)
		if err != nil && !errors.Is(err, ErrKey) {
			t.Fatalf("error outside the tree: %v", err)
		}
		if err == nil && len(pub.Fingerprint()) != 64 {
			t.Fatal("bad fingerprint")
		}
	})
}
