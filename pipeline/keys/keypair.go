package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// Keypair adapts k to sigstore-go's sign.Keypair so that sign.Bundle can sign with a durable
// key. The hint is base64(sha256(PKIX DER)), the same as cosign's, so a cosign verifier and
// ours find the key the same way.
func (k *PrivateKey) Keypair() sign.Keypair { return keypair{k} }

type keypair struct{ k *PrivateKey }

var _ sign.Keypair = keypair{}

func (keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (p keypair) GetHint() []byte                  { return []byte(p.k.pub.Hint()) }
func (keypair) GetKeyAlgorithm() string            { return "ECDSA" }
func (p keypair) GetPublicKey() crypto.PublicKey   { return p.k.Public() }
func (p keypair) GetPublicKeyPem() (string, error) { return string(p.k.pub.PEM()), nil }

// SignData hashes data with SHA-256 and signs the digest; it returns the signature and the
// digest, as sign.Keypair requires.
func (p keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := p.k.Signer().Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return sig, sum[:], nil
}

// String keeps the adapter as quiet as the key it wraps.
func (p keypair) String() string { return p.k.String() }
