// Package trust is the verifying side of reliquary's signatures: it checks Sigstore bundles
// (v0.3 JSON) against a set of public keys the caller trusts, offline. It never opens a
// network connection, never trusts a key named inside the bundle or the release, and never
// panics on hostile input.
//
// Contract:
//   - Keys is the root of trust: the public keys given with `--key` (several, for rotation).
//     A bundle names its key by hint (base64(sha256(PKIX DER)), Sigstore client spec,
//     "Verification Material"); a hint naming no trusted key is ErrNoMatchingKey. A bundle
//     without a hint is tried against every trusted key.
//   - VerifyMessage checks a message-signature bundle over an artifact whose SHA-256 the
//     caller computed itself; the digest inside the bundle is only a hint and must match.
//   - VerifyDSSE checks a DSSE bundle and returns the verified payload bytes. It does not
//     match subjects: the caller checks them against its manifest, once per statement.
//   - Strict: bundles larger than MaxBundleSize, with unknown JSON fields, with a media type
//     other than BundleMediaType, with certificates instead of a key, or (DSSE spec,
//     Sigstore bundle spec) with other than exactly one signature are refused.
//   - Every error wraps one sentinel of the tree below (errors.Is) and says why.
//
// Verification follows sigstore-go v1.3.0 pkg/verify with no observer timestamps: a key has
// no validity window here, so signing time does not matter.
package trust

import (
	"crypto"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sentientos/reliquary/pipeline/keys"
)

// Errors form a tree: every error this package returns wraps ErrVerify and exactly one of
// the more specific sentinels.
var (
	ErrVerify = errors.New("signature verification failed")

	// ErrMalformedBundle: not a well-formed Sigstore bundle of the expected kind.
	ErrMalformedBundle = fmt.Errorf("%w: malformed bundle", ErrVerify)
	// ErrTooLarge: the bundle exceeds MaxBundleSize and was not parsed.
	ErrTooLarge = fmt.Errorf("%w: bundle larger than %d bytes", ErrMalformedBundle, MaxBundleSize)
	// ErrMediaType: a bundle media type other than BundleMediaType.
	ErrMediaType = fmt.Errorf("%w: unsupported bundle media type", ErrMalformedBundle)
	// ErrSignatureCount: a DSSE envelope with other than exactly one signature.
	ErrSignatureCount = fmt.Errorf("%w: DSSE envelope must hold exactly one signature", ErrMalformedBundle)
	// ErrNotKeySigned: the bundle carries a certificate (keyless signing), not a key hint.
	ErrNotKeySigned = fmt.Errorf("%w: signed with a certificate, not a key", ErrMalformedBundle)

	// ErrNoMatchingKey: the bundle's hint names no trusted key.
	ErrNoMatchingKey = fmt.Errorf("%w: signed by a key not in --key", ErrVerify)
	// ErrBadSignature: the signature does not verify with the trusted key.
	ErrBadSignature = fmt.Errorf("%w: bad signature", ErrVerify)
	// ErrDigestMismatch: a message signature over another artifact.
	ErrDigestMismatch = fmt.Errorf("%w: bundle signs another artifact (digest mismatch)", ErrVerify)
	// ErrPayloadType: a DSSE payload type other than the one asked for.
	ErrPayloadType = fmt.Errorf("%w: unexpected DSSE payload type", ErrVerify)
)

// Keys is an immutable set of trusted public keys. It is safe for concurrent use.
type Keys struct {
	byHint   map[string]*trustedKey
	sorted   []*trustedKey // by fingerprint, for deterministic tries and listings
	verifier *verify.Verifier
}

type trustedKey struct {
	pub    *keys.PublicKey
	source string // the file it came from, if any, for messages
	ek     *root.ExpiringKey
}

// NewKeys trusts the given public keys. At least one is required; duplicates are merged.
func NewKeys(pubs ...*keys.PublicKey) (*Keys, error) {
	named := make([]namedKey, len(pubs))
	for i, p := range pubs {
		named[i] = namedKey{pub: p}
	}
	return newKeys(named)
}

// LoadKeys trusts the public keys in the given PEM files (PKIX "PUBLIC KEY", one per file).
func LoadKeys(paths ...string) (*Keys, error) {
	named := make([]namedKey, 0, len(paths))
	for _, path := range paths {
		pub, err := keys.LoadPublic(path)
		if err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
		named = append(named, namedKey{pub, path})
	}
	return newKeys(named)
}

type namedKey struct {
	pub    *keys.PublicKey
	source string
}

func newKeys(in []namedKey) (*Keys, error) {
	if len(in) == 0 {
		return nil, errors.New("trust: no trusted keys given (use --key)")
	}
	k := &Keys{byHint: make(map[string]*trustedKey, len(in))}
	for _, n := range in {
		if n.pub == nil {
			return nil, errors.New("trust: nil public key")
		}
		if _, dup := k.byHint[n.pub.Hint()]; dup {
			continue
		}
		v, err := signature.LoadVerifier(n.pub.Crypto(), crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("trust: key %s: %w", n.source, err)
		}
		tk := &trustedKey{pub: n.pub, source: n.source, ek: root.NewExpiringKey(v, time.Time{}, time.Time{})}
		k.byHint[n.pub.Hint()] = tk
		k.sorted = append(k.sorted, tk)
	}
	sort.Slice(k.sorted, func(i, j int) bool { return k.sorted[i].pub.Fingerprint() < k.sorted[j].pub.Fingerprint() })
	// One verifier for every check: building it is cheap, but there is no reason to repeat it.
	tm := root.NewTrustedPublicKeyMaterial(k.lookup)
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps(), verify.WithoutStatementPredicate())
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	k.verifier = v
	return k, nil
}

// lookup is the trusted material's key function: sigstore-go passes it the bundle's hint.
func (k *Keys) lookup(hint string) (root.TimeConstrainedVerifier, error) {
	if tk, ok := k.byHint[hint]; ok {
		return tk.ek, nil
	}
	return nil, fmt.Errorf("%w (the bundle names key %s)", ErrNoMatchingKey, hintName(hint))
}

// Fingerprints lists the trusted keys' fingerprints (hex sha256 of PKIX DER), sorted.
func (k *Keys) Fingerprints() []string {
	out := make([]string, len(k.sorted))
	for i, tk := range k.sorted {
		out[i] = tk.pub.Fingerprint()
	}
	return out
}

// Len is the number of distinct trusted keys.
func (k *Keys) Len() int { return len(k.sorted) }
