// Package keys holds reliquary's signing keys: ECDSA P-256 key pairs stored as PEM files that
// stock cosign reads and writes too.
//
// Contract:
//   - Generate makes a key in memory; Write stores it as PREFIX.key (mode 0600) and PREFIX.pub,
//     atomically, never over an existing file. The private key is encrypted in cosign's own
//     format ("ENCRYPTED SIGSTORE PRIVATE KEY": scrypt + NaCl secretbox, as
//     github.com/secure-systems-lab/go-securesystemslib/encrypted does it) unless the caller
//     opts out with Unencrypted.
//   - Load reads cosign's encrypted key files (both PEM types cosign has used), ours, plain
//     PKCS#8 "PRIVATE KEY" and SEC1 "EC PRIVATE KEY" PEM. Only ECDSA P-256 keys are accepted:
//     that is what cosign makes by default and what every verifier of ours expects.
//   - A PrivateKey never prints, logs or marshals its secret: String, GoString, Format,
//     LogValue and MarshalText all give a redacted description naming the key's fingerprint.
//     Errors name the file and the problem, never key material or the password.
//   - Public keys are PKIX "PUBLIC KEY" PEM. A key's Fingerprint is the hex SHA-256 of its PKIX
//     DER; its Hint is the base64 of the same digest, which is what cosign and sigstore-go put
//     in a bundle's verificationMaterial.publicKey.hint.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Errors returned by this package form a tree for errors.Is.
var (
	// ErrKey is the root of every error about a key file's content.
	ErrKey = errors.New("key")
	// ErrWrongPassword: an encrypted key did not decrypt with the password given.
	ErrWrongPassword = fmt.Errorf("%w: wrong password (or corrupted encrypted key)", ErrKey)
	// ErrMalformed: the file is not a PEM key of a kind this package reads.
	ErrMalformed = fmt.Errorf("%w: malformed", ErrKey)
	// ErrUnsupported: a well-formed key of an algorithm other than ECDSA P-256.
	ErrUnsupported = fmt.Errorf("%w: unsupported algorithm (want ECDSA P-256)", ErrKey)
	// ErrNoPassword: an encrypted key needs a password and none was available.
	ErrNoPassword = errors.New("no password")
	// ErrExists: Write refuses to replace an existing key file.
	ErrExists = errors.New("file exists")
)

// PrivateKey is an ECDSA P-256 signing key. Its zero value is not usable; get one from
// Generate or Load. It is safe for concurrent use.
type PrivateKey struct {
	priv *ecdsa.PrivateKey
	pub  *PublicKey
}

// Generate makes a new ECDSA P-256 key from crypto/rand.
func Generate() (*PrivateKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate: %w", err)
	}
	return newPrivateKey(priv)
}

// newPrivateKey wraps priv after checking its curve.
func newPrivateKey(priv *ecdsa.PrivateKey) (*PrivateKey, error) {
	pub, err := NewPublic(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{priv: priv, pub: pub}, nil
}

// Public returns the *ecdsa.PublicKey, as crypto.Signer's Public does.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.priv.PublicKey }

// PublicKey returns the public half with its fingerprint, hint and PEM form.
func (k *PrivateKey) PublicKey() *PublicKey { return k.pub }

// Signer returns a crypto.Signer over this key that also refuses to print its secret.
// Sign expects a SHA-256 digest and returns an ASN.1 DER ECDSA signature.
func (k *PrivateKey) Signer() crypto.Signer { return redactedSigner{k} }

// String describes the key without its secret.
func (k *PrivateKey) String() string {
	if k == nil || k.pub == nil {
		return "keys.PrivateKey(<nil>)"
	}
	return "keys.PrivateKey(ECDSA P-256, sha256:" + k.pub.Fingerprint() + ", secret redacted)"
}

// GoString is String, so %#v cannot reveal the secret either.
func (k *PrivateKey) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %x, ...) print String.
func (k *PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue keeps slog handlers from walking into the key.
func (k *PrivateKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText makes encoding/json and friends write the redacted description.
func (k *PrivateKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// redactedSigner is the crypto.Signer handed out by Signer. It is a separate type so that a
// caller printing the signer does not print the *ecdsa.PrivateKey inside.
type redactedSigner struct{ k *PrivateKey }

func (s redactedSigner) Public() crypto.PublicKey { return s.k.Public() }

func (s redactedSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != crypto.SHA256.Size() {
		return nil, errors.New("keys: sign: want a SHA-256 digest")
	}
	return ecdsa.SignASN1(r, s.k.priv, digest)
}

func (s redactedSigner) String() string               { return s.k.String() }
func (s redactedSigner) GoString() string             { return s.k.String() }
func (s redactedSigner) Format(f fmt.State, _ rune)   { _, _ = io.WriteString(f, s.k.String()) }
func (s redactedSigner) LogValue() slog.Value         { return s.k.LogValue() }
func (s redactedSigner) MarshalText() ([]byte, error) { return s.k.MarshalText() }
