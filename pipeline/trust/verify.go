package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the only bundle media type accepted: Sigstore bundle v0.3, which is
// what package sign and cosign v3 write.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// MaxBundleSize bounds the bundles parsed. A DSSE bundle of 1024 subjects is well under
// 1 MiB; anything much larger is refused before parsing.
const MaxBundleSize = 16 << 20

// VerifyMessage checks that bundleJSON is a message signature, by a trusted key, over the
// artifact whose SHA-256 digest is artifactSHA256 (computed by the caller from the bytes it
// has, never taken from the bundle). It returns the signing key's fingerprint. Errors do not
// name the bundle's file; the caller adds that.
func (k *Keys) VerifyMessage(bundleJSON []byte, artifactSHA256 [32]byte) (string, error) {
	b, err := parse(bundleJSON)
	if err != nil {
		return "", err
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return "", fmt.Errorf("%w: holds a DSSE envelope, want a message signature", ErrMalformedBundle)
	}
	md := ms.GetMessageDigest()
	if md == nil || md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
		return "", fmt.Errorf("%w: message digest missing or not SHA2_256", ErrMalformedBundle)
	}
	if !bytes.Equal(md.GetDigest(), artifactSHA256[:]) {
		return "", fmt.Errorf("%w: bundle is over sha256:%x, the file is sha256:%x", ErrDigestMismatch, md.GetDigest(), artifactSHA256)
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest("sha256", artifactSHA256[:]), verify.WithKey())
	return k.verify(b, policy)
}

// VerifyDSSE checks that bundleJSON is a DSSE envelope with exactly one signature, by a
// trusted key, of payload type wantPayloadType, and returns the verified payload (the
// statement JSON, byte for byte as signed) and the signing key's fingerprint. Subjects are
// not matched here: the caller checks them against its manifest. Sigstore verifiers accept
// only in-toto payloads (application/vnd.in-toto+json) inside bundles.
func (k *Keys) VerifyDSSE(bundleJSON []byte, wantPayloadType string) ([]byte, string, error) {
	b, err := parse(bundleJSON)
	if err != nil {
		return nil, "", err
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, "", fmt.Errorf("%w: holds a message signature, want a DSSE envelope", ErrMalformedBundle)
	}
	if n := len(env.GetSignatures()); n != 1 {
		return nil, "", fmt.Errorf("%w (has %d)", ErrSignatureCount, n)
	}
	if env.GetPayloadType() != wantPayloadType {
		return nil, "", fmt.Errorf("%w: %q, want %q", ErrPayloadType, env.GetPayloadType(), wantPayloadType)
	}
	// WithoutArtifactUnsafe: the subjects are matched by the caller against its own map of
	// digests, once per statement, instead of once per artifact here.
	policy := verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey())
	fp, err := k.verify(b, policy)
	if err != nil {
		return nil, "", err
	}
	return bytes.Clone(env.GetPayload()), fp, nil
}

// parse decodes and validates a bundle without trusting anything in it yet.
func parse(data []byte) (*bundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data))
	}
	var pb protobundle.Bundle
	// Unknown fields are an error (protojson's default): a verifier should not skip over
	// content it does not understand.
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("%w: not Sigstore bundle JSON: %v", ErrMalformedBundle, err)
	}
	if pb.GetMediaType() != BundleMediaType {
		return nil, fmt.Errorf("%w: %q, want %q", ErrMediaType, pb.GetMediaType(), BundleMediaType)
	}
	b, err := bundle.NewBundle(&pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if b.GetVerificationMaterial().GetPublicKey() == nil {
		return nil, ErrNotKeySigned
	}
	return b, nil
}

// verify runs sigstore-go's verifier with the trusted key the hint names, or with each
// trusted key in turn when the bundle has no hint (the hint is unauthenticated, so filling it
// in on our parsed copy changes nothing that is signed).
func (k *Keys) verify(b *bundle.Bundle, policy verify.PolicyBuilder) (string, error) {
	pk := b.GetVerificationMaterial().GetPublicKey()
	candidates := k.sorted
	if pk.GetHint() != "" {
		tk, ok := k.byHint[pk.GetHint()]
		if !ok {
			return "", fmt.Errorf("%w (the bundle names key %s; trusted: sha256:%s)", ErrNoMatchingKey, hintName(pk.GetHint()), strings.Join(k.Fingerprints(), ", sha256:"))
		}
		candidates = []*trustedKey{tk}
	}
	var firstErr error
	for _, tk := range candidates {
		pk.Hint = tk.pub.Hint()
		_, err := k.verifier.Verify(b, policy)
		if err == nil {
			return tk.pub.Fingerprint(), nil
		}
		if firstErr == nil {
			firstErr = classify(err, tk)
		}
	}
	return "", firstErr
}

// hintName shows a bundle's hint the way keys are named everywhere else: a standard hint is
// base64 of the key's SHA-256 fingerprint, so it is shown as sha256:HEX; anything else quoted.
func hintName(hint string) string {
	if raw, err := base64.StdEncoding.DecodeString(hint); err == nil && len(raw) == sha256.Size {
		return "sha256:" + hex.EncodeToString(raw)
	}
	return fmt.Sprintf("with hint %q", hint)
}

// classify maps a sigstore-go verification error onto our sentinels. Structural problems
// were ruled out by parse and the callers' checks; what remains is the signature itself, or
// a signed DSSE payload that is not an in-toto statement.
func classify(err error, tk *trustedKey) error {
	if strings.HasPrefix(err.Error(), "failed to fetch envelope statement") {
		return fmt.Errorf("%w: DSSE payload is not an in-toto statement: %v", ErrMalformedBundle, err)
	}
	from := ""
	if tk.source != "" {
		from = " from " + tk.source
	}
	return fmt.Errorf("%w: does not verify with key sha256:%s%s: %v", ErrBadSignature, tk.pub.Fingerprint(), from, err)
}
