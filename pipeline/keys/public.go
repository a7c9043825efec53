package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// PublicKeyPEMType is the PEM block type of a public key file (PKIX, as cosign writes it).
const PublicKeyPEMType = "PUBLIC KEY"

// PublicKey is an ECDSA P-256 public key with its PKIX DER encoding, from which its
// fingerprint and hint derive.
type PublicKey struct {
	key *ecdsa.PublicKey
	der []byte
}

// NewPublic wraps a crypto public key, which must be an ECDSA P-256 key.
func NewPublic(pub crypto.PublicKey) (*PublicKey, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrUnsupported, pub)
	}
	if ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: got curve %s", ErrUnsupported, ec.Curve.Params().Name)
	}
	der, err := x509.MarshalPKIXPublicKey(ec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &PublicKey{key: ec, der: der}, nil
}

// ParsePublic reads one PKIX "PUBLIC KEY" PEM block. Text after the block is refused, so a
// file cannot smuggle a second key past a reader that looks only at the first.
func ParsePublic(pemBytes []byte) (*PublicKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	if block.Type != PublicKeyPEMType {
		return nil, fmt.Errorf("%w: PEM type %q, want %q", ErrMalformed, block.Type, PublicKeyPEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrMalformed)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return NewPublic(pub)
}

// LoadPublic reads a public key file (PKIX PEM, as written by Write or cosign).
func LoadPublic(path string) (*PublicKey, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublic(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return pub, nil
}

// Crypto returns the *ecdsa.PublicKey.
func (p *PublicKey) Crypto() crypto.PublicKey { return p.key }

// ECDSA returns the key as its concrete type.
func (p *PublicKey) ECDSA() *ecdsa.PublicKey { return p.key }

// DER returns a copy of the PKIX DER encoding.
func (p *PublicKey) DER() []byte { return bytes.Clone(p.der) }

// PEM returns the PKIX "PUBLIC KEY" PEM encoding, the content of a .pub file.
func (p *PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: PublicKeyPEMType, Bytes: p.der})
}

// Fingerprint is the lowercase hex SHA-256 of the PKIX DER: the key's name in release notes
// and reports (the same as `openssl pkey -pubin -outform DER | sha256sum`).
func (p *PublicKey) Fingerprint() string {
	sum := sha256.Sum256(p.der)
	return hex.EncodeToString(sum[:])
}

// Hint is the standard base64 of the SHA-256 of the PKIX DER: the key's identifier in a
// Sigstore bundle (verificationMaterial.publicKey.hint), as cosign and sigstore-go compute it.
func (p *PublicKey) Hint() string {
	sum := sha256.Sum256(p.der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Equal reports whether two public keys are the same key.
func (p *PublicKey) Equal(o *PublicKey) bool {
	return p != nil && o != nil && bytes.Equal(p.der, o.der)
}

// String names the key by fingerprint.
func (p *PublicKey) String() string { return "ECDSA P-256 sha256:" + p.Fingerprint() }

// Fingerprint returns the hex SHA-256 of pub's PKIX DER (see PublicKey.Fingerprint).
func Fingerprint(pub crypto.PublicKey) (string, error) {
	p, err := NewPublic(pub)
	if err != nil {
		return "", err
	}
	return p.Fingerprint(), nil
}

// Hint returns the bundle hint of pub, base64(sha256(PKIX DER)) (see PublicKey.Hint).
func Hint(pub crypto.PublicKey) (string, error) {
	p, err := NewPublic(pub)
	if err != nil {
		return "", err
	}
	return p.Hint(), nil
}
