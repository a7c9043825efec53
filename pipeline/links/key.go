package links

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/pipeline/keys"
)

// KeyOf returns the in-toto form of a public key: the key id, scheme and hash algorithms are
// the ones `in-toto verify -k KEY.pub` derives from the same PEM file, so layouts written here
// name the key the stock verifier loads.
func KeyOf(pub *keys.PublicKey) (intoto.Key, error) {
	var k intoto.Key
	if err := k.LoadKeyReaderDefaults(bytes.NewReader(pub.PEM())); err != nil {
		return intoto.Key{}, fmt.Errorf("%w: in-toto key from %s: %w", ErrLink, pub, err)
	}
	return k, nil
}

// KeyIDPrefix is the part of a key id in link file names (in-toto's LinkNameFormat).
func KeyIDPrefix(k intoto.Key) string { return k.KeyID[:8] }

// sign adds key's signature to mb in in-toto's ecdsa-sha2-nistp256 scheme: ECDSA over the
// SHA-256 of the canonical JSON of the signed part, ASN.1, hex. It goes through the key's
// crypto.Signer, so the private key is never exported into an in-toto Key (which would hold
// it as a PEM string), then verifies the signature with in-toto's own verifier.
func sign(mb *intoto.Metablock, key *keys.PrivateKey, pub intoto.Key) error {
	payload, err := mb.GetSignableRepresentation()
	if err != nil {
		return fmt.Errorf("canonical JSON: %w", err)
	}
	digest := sha256.Sum256(payload)
	sig, err := key.Signer().Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	mb.Signatures = append(mb.Signatures, intoto.Signature{KeyID: pub.KeyID, Sig: hex.EncodeToString(sig)})
	if err := mb.VerifySignature(pub); err != nil {
		return fmt.Errorf("signature does not verify with in-toto's verifier: %w", err)
	}
	return nil
}
