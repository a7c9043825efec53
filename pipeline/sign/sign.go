// Package sign is the signing stage: it turns bytes into Sigstore bundles (v0.3, JSON) signed
// with a durable key from package keys, offline: no certificate authority, no transparency
// log, no timestamp authority. The bundle names its key by hint only
// (verificationMaterial.publicKey.hint = base64(sha256(PKIX DER))), so it is accepted by
// `cosign verify-blob --key K --insecure-ignore-tlog=true` and by package trust.
//
// Contract:
//   - Message signs a blob (a "message signature" bundle over its SHA-256). Only small
//     files are signed this way (the manifest); artifacts are bound by their digests in the
//     manifest and in DSSE statements, never loaded whole to be signed.
//   - DSSE signs an in-toto statement as a DSSE envelope bundle, the form of provenance,
//     links and summaries.
//   - Every bundle is verified against the signing key before it is returned, so a broken
//     key or signer cannot produce a release that its own gate would reject later.
//   - Output is protojson with stable indentation; bundles never hold private key material.
package sign

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sentientos/reliquary/pipeline/keys"
)

// Media and payload types this package produces.
const (
	// BundleMediaType is the Sigstore bundle v0.3 media type of every bundle written here.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement; the only one
	// Sigstore verifiers (sigstore-go, cosign) accept in a bundle.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// BundleSuffix is appended to a file's name to name its signature bundle.
	BundleSuffix = ".sigstore.json"
)

// ErrSign is the root of this package's errors.
var ErrSign = errors.New("sign")

// Message signs data and returns a Sigstore bundle (JSON) holding a message signature over
// its SHA-256 digest.
func Message(data []byte, key *keys.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrSign)
	}
	return signBundle(&sgsign.PlainData{Data: data}, key)
}

// DSSE signs statement (the JSON of an in-toto statement) as a DSSE envelope with the given
// payload type and returns the Sigstore bundle (JSON). The payload type must be
// InTotoPayloadType: sigstore-go and cosign verify no other kind inside a bundle, and the
// self-check below would reject it anyway; refusing early gives the clearer message.
func DSSE(statement []byte, payloadType string, key *keys.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrSign)
	}
	if payloadType != InTotoPayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type %q: Sigstore bundles carry only %q", ErrSign, payloadType, InTotoPayloadType)
	}
	if !json.Valid(statement) {
		return nil, fmt.Errorf("%w: DSSE payload is not valid JSON", ErrSign)
	}
	return signBundle(&sgsign.DSSEData{Data: statement, PayloadType: payloadType}, key)
}

// signBundle signs content with key, verifies the result against key, and encodes it.
func signBundle(content sgsign.Content, key *keys.PrivateKey) ([]byte, error) {
	self, err := selfTrust(key)
	if err != nil {
		return nil, err
	}
	// With TrustedRoot set, sigstore-go verifies the bundle it just made before returning it.
	pb, err := sgsign.Bundle(content, key.Keypair(), sgsign.BundleOptions{TrustedRoot: self})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSign, err)
	}
	return encode(pb)
}

// selfTrust is trusted material holding only the signing key's public half.
func selfTrust(key *keys.PrivateKey) (root.TrustedMaterial, error) {
	pub := key.PublicKey()
	v, err := signature.LoadVerifier(pub.Crypto(), crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: verifier for %s: %w", ErrSign, pub, err)
	}
	ek := root.NewExpiringKey(v, time.Time{}, time.Time{})
	hint := pub.Hint()
	return root.NewTrustedPublicKeyMaterial(func(h string) (root.TimeConstrainedVerifier, error) {
		if h != hint {
			return nil, fmt.Errorf("%w: bundle hint %q is not the signing key's", ErrSign, h)
		}
		return ek, nil
	}), nil
}

// encode writes pb as protojson, re-indented: protojson deliberately varies its whitespace
// between runs, and a stable layout keeps diffs and golden files readable.
func encode(pb *protobundle.Bundle) ([]byte, error) {
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: encode bundle: %w", ErrSign, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("%w: encode bundle: %w", ErrSign, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
