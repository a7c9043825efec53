package verify

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// Verifier checks Sigstore bundles against the keys the caller trusts, offline. Package
// trust provides the real one; a test can wrap it to inject a hostile answer.
type Verifier interface {
	// VerifyMessage checks a message-signature bundle over content with the given sha256
	// and returns the signing key's fingerprint.
	VerifyMessage(bundleJSON []byte, contentSHA256 [32]byte) (string, error)
	// VerifyDSSE checks a DSSE bundle with exactly one signature and the wanted payload
	// type, and returns the signed payload and the signing key's fingerprint.
	VerifyDSSE(bundleJSON []byte, payloadType string) ([]byte, string, error)
}

// MaxSigBundleSize bounds a Sigstore bundle read from a release.
const MaxSigBundleSize = 32 << 20

// Problem codes of the signature checks.
const (
	ProblemBadSignature = "bad-signature"
	ProblemAttestation  = "attestation-mismatch"
)

// WithKeys turns on every signature and attestation check, trusting only pubs (several for
// key rotation). Run refuses to run without it unless the caller opts out by name
// (WithDigestsOnlyUnsafe).
func WithKeys(pubs ...*keys.PublicKey) Option {
	return func(c *config) error {
		tk, err := trust.NewKeys(pubs...)
		if err != nil {
			return err
		}
		c.checks = append(c.checks, signatureChecks(tk)...)
		c.checks = append(c.checks, linksCheck{pubs})
		c.trusted = true
		return nil
	}
}

// WithVerifier turns on the signature checks with a custom Verifier (tests use it to inject
// hostile answers). The in-toto link check needs real keys: use WithKeys.
func WithVerifier(v Verifier) Option {
	return func(c *config) error {
		if v == nil {
			return fmt.Errorf("verify: nil verifier")
		}
		c.checks = append(c.checks, signatureChecks(v)...)
		c.trusted = true
		return nil
	}
}

func signatureChecks(v Verifier) []Check {
	return []Check{manifestSigCheck{v}, provenanceCheck{v}, reproducibilityCheck(v), benchmarkCheck(v), summaryCheck(v), escrowCheck{v}, sbomCheck{v}, keysCheck{}}
}

// manifestSigCheck requires a valid signature over manifest.json: it is what makes every
// digest in the manifest, and so every file, authentic.
type manifestSigCheck struct{ v Verifier }

func (manifestSigCheck) Name() string { return "signature" }

func (c manifestSigCheck) Run(_ context.Context, s *Session) {
	f := Finding{Check: "signature", File: bundle.ManifestSigFile}
	if s.Manifest == nil {
		s.Add(failed(f, ProblemNotChecked, "", "", "not checked: the manifest is unusable", "re-download the bundle"))
		return
	}
	sig, err := s.Bundle.ReadFile(bundle.ManifestSigFile, MaxSigBundleSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return
	}
	fp, err := c.v.VerifyMessage(sig, s.manifestSum)
	if err != nil {
		s.Add(failed(f, ProblemBadSignature, "a signature over manifest.json (sha256:"+s.Report.ManifestSHA256+") by a trusted key", "", err.Error(),
			"do not use this release: its manifest is not signed by a key you trust (check --key, or re-download the bundle)"))
		return
	}
	s.Authenticated()
	s.signedBy(fp)
	s.Verified(bundle.ManifestSigFile, sig)
	f.Status, f.Message = Pass, "manifest.json is signed by a trusted key"
	s.Add(f)
}

// provenanceCheck verifies every provenance statement's signature, then checks that their
// subjects equal the manifest's artifacts exactly and that they are for this version.
type provenanceCheck struct{ v Verifier }

func (provenanceCheck) Name() string { return "provenance" }

func (c provenanceCheck) Run(_ context.Context, s *Session) {
	files := provenanceFiles(s)
	if s.Manifest == nil {
		s.Claim(files...)
		return
	}
	if len(files) == 0 {
		if s.Manifest.Declares(bundle.AttestProvenance) {
			s.Add(failed(Finding{Check: "provenance", File: bundle.ProvenanceFile}, ProblemMissing, "present", "missing",
				"the manifest declares provenance but the bundle has none", "re-download the bundle; provenance is part of the signed release"))
		}
		return
	}
	var stmts []attest.Signed
	for _, name := range files {
		if stmt, ok := c.verifyOne(s, name); ok {
			stmts = append(stmts, attest.Signed{File: name, Statement: stmt})
		}
	}
	if len(stmts) < len(files) {
		return // unsigned statements are not compared: their content is not trustworthy
	}
	problems := attest.Check(stmts, s.Manifest.Artifacts, s.Manifest.Version)
	for _, p := range problems {
		s.Add(failed(Finding{Check: "provenance", File: orDefault(p.File, bundle.ProvenanceFile)}, ProblemAttestation, "", "", p.String(),
			"the provenance does not describe this release's artifacts: do not use the release"))
	}
	if len(problems) == 0 {
		for _, name := range files {
			s.Add(Finding{Check: "provenance", File: name, Status: Pass, Message: "signed; subjects equal the manifest's artifacts"})
		}
	}
}

func (c provenanceCheck) verifyOne(s *Session, name string) ([]byte, bool) {
	f := Finding{Check: "provenance", File: name}
	data, err := s.Bundle.ReadFile(name, MaxSigBundleSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return nil, false
	}
	stmt, _, err := c.v.VerifyDSSE(data, attest.PayloadType)
	if err != nil {
		s.Add(failed(f, ProblemBadSignature, "a DSSE envelope signed by a trusted key", "", err.Error(),
			"do not use this release: its provenance is not signed by a key you trust"))
		return nil, false
	}
	s.Verified(name, data)
	return stmt, true
}

// provenanceFiles lists provenance.sigstore.json and its shards, in shard order. A gap in
// the numbering shows up as a missing shard, because attest.Check then lacks subjects.
func provenanceFiles(s *Session) []string {
	shards := s.Paths(bundle.IsProvenanceShard)
	sort.Slice(shards, func(i, j int) bool { return shardNumber(shards[i]) < shardNumber(shards[j]) })
	if s.Has(bundle.ProvenanceFile) {
		return append([]string{bundle.ProvenanceFile}, shards...)
	}
	return shards
}

func shardNumber(p string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "provenance-"), ".sigstore.json"))
	return n
}

// keysCheck accounts for the release's trust bundle (keys/): the public keys it ships are
// never used as a root of trust, but they must be what they claim to be: public keys, and
// exactly the key that signed this release, so that a user who picks one up from the
// bundle gets the right one.
type keysCheck struct{}

func (keysCheck) Name() string { return "keys" }

func (keysCheck) Run(_ context.Context, s *Session) {
	shipped := s.Paths(func(p string) bool { return strings.HasPrefix(p, bundle.KeysDir+"/") })
	signer, found := s.signer, false
	for _, p := range shipped {
		f := Finding{Check: "keys", File: p}
		data, err := s.Bundle.ReadFile(p, 64<<10)
		if err != nil {
			s.Add(openFailure(f, err))
			continue
		}
		pub, err := keys.ParsePublic(data)
		switch {
		case path.Ext(p) != ".pub" || strings.Contains(string(data), "PRIVATE KEY"):
			s.Add(failed(f, ProblemUnexpected, "a public key (*.pub)", p, "keys/ holds only public keys", "remove it; if it is private key material, rotate that key now"))
		case err != nil:
			s.Add(failed(f, ProblemMalformed, "a PEM public key", "", err.Error(), "re-download the bundle"))
		case signer != "" && pub.Fingerprint() != signer:
			s.Add(failed(f, ProblemUnexpected, "sha256:"+signer, "sha256:"+pub.Fingerprint(), "not the key that signed this release", "remove it, or re-download the bundle"))
		default:
			found = found || pub.Fingerprint() == signer
			s.Add(Finding{Check: "keys", File: p, Status: Pass, Message: "the signing key's public half (informational: the gate trusts only --key)"})
		}
	}
	if signer != "" && !found && s.Has(bundle.ManifestSigFile) {
		s.Add(failed(Finding{Check: "keys", File: bundle.KeysDir + "/"}, ProblemMissing, "sha256:"+signer, "missing",
			"keys/ does not ship the key that signed this release", "re-download the bundle"))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
