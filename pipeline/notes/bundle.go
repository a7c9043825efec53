package notes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
)

// VerificationFromBundle reads the Verification section's inputs from a release bundle:
// the artifacts listed in its manifest, the manifest's SHA-256, and a key fingerprint. The
// fingerprint is signer's when given (the key the release was signed with, which readers
// should hold); otherwise that of the bundle's only keys/*.pub file, if it has exactly one.
// It returns the parsed manifest too, so callers can check its version and project. It
// checks nothing about signatures: that is the gate's job.
func VerificationFromBundle(dir string, signer *keys.PublicKey) (*Verification, *bundle.Manifest, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("notes: %w", err)
	}
	defer b.Close()
	data, err := b.ReadFile(bundle.ManifestFile, bundle.MaxManifestSize)
	if err != nil {
		return nil, nil, fmt.Errorf("notes: bundle %s: %w", dir, err)
	}
	m, err := bundle.ParseManifest(data)
	if err != nil {
		return nil, nil, fmt.Errorf("notes: bundle %s: %s: %w", dir, bundle.ManifestFile, err)
	}
	sum := sha256.Sum256(data)
	v := &Verification{Artifacts: m.Artifacts, ManifestDigest: "sha256:" + hex.EncodeToString(sum[:])}
	if signer != nil {
		v.KeyFingerprint = signer.Fingerprint()
	} else if v.KeyFingerprint, err = bundleKey(b); err != nil {
		return nil, nil, fmt.Errorf("notes: bundle %s: %w", dir, err)
	}
	return v, m, nil
}

// bundleKey returns the fingerprint of the bundle's one public key, "" when it has none, and
// an error when it has several: the notes must not guess which one signed.
func bundleKey(b *bundle.Bundle) (string, error) {
	entries, err := b.Inventory()
	if err != nil {
		return "", err
	}
	var pubs []string
	for _, e := range entries {
		if e.Err == nil && e.Type == bundle.TypeRegular && strings.HasPrefix(e.Path, bundle.KeysDir+"/") && strings.HasSuffix(e.Path, keys.PublicSuffix) {
			pubs = append(pubs, e.Path)
		}
	}
	sort.Strings(pubs)
	switch len(pubs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("%d public keys in %s/ (%s): name the signing key", len(pubs), bundle.KeysDir, strings.Join(pubs, ", "))
	}
	data, err := b.ReadFile(pubs[0], keys.MaxKeyFileSize)
	if err != nil {
		return "", err
	}
	pub, err := keys.ParsePublic(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", pubs[0], err)
	}
	return pub.Fingerprint(), nil
}
