package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/escrow"
)

// escrowCheck verifies the signed escrow archive (package escrow) and, through it, the files
// written after the manifest: the release notes, the changelog and the audit summary. The
// signature must cover the archive's sha256; the archive's manifest.json must be this
// bundle's, byte for byte (so an escrow of another release signed by the same key fails);
// every member must equal its loose file. It is required when the manifest declares it.
type escrowCheck struct{ v Verifier }

func (escrowCheck) Name() string { return "escrow" }

func (c escrowCheck) Run(_ context.Context, s *Session) {
	if s.Manifest == nil {
		s.Claim(bundle.EscrowFile, bundle.EscrowSigFile)
		return
	}
	f := Finding{Check: "escrow", File: bundle.EscrowFile}
	if !s.Has(bundle.EscrowFile) && !s.Has(bundle.EscrowSigFile) {
		if s.Manifest.Declares(bundle.AttestEscrow) {
			s.Add(failed(f, ProblemMissing, "present", "missing", "the manifest declares an escrow archive but the bundle has none", "re-download the bundle"))
			c.uncovered(s, "the declared escrow archive is missing")
		}
		return
	}
	members, sum, ok := c.readArchive(s, f)
	if !ok {
		c.uncovered(s, "the escrow archive is unusable")
		return
	}
	if !c.signature(s, sum) {
		c.uncovered(s, "the escrow archive's signature does not verify")
		return
	}
	c.compare(s, members)
}

// readArchive hashes and parses escrow.tar.gz in one pass. Its members are not trusted
// until the signature over the returned sha256 verifies.
func (escrowCheck) readArchive(s *Session, f Finding) ([]escrow.Member, [32]byte, bool) {
	var sum [32]byte
	r, fi, err := s.Bundle.Open(bundle.EscrowFile)
	if err != nil {
		s.Add(openFailure(f, err))
		return nil, sum, false
	}
	defer r.Close()
	if fi.Size() > escrow.MaxArchiveSize {
		s.Add(failed(f, ProblemMalformed, "", "", fmt.Sprintf("%d bytes is over the %d-byte limit", fi.Size(), escrow.MaxArchiveSize), "re-download the bundle"))
		return nil, sum, false
	}
	h := sha256.New()
	members, err := escrow.Read(io.TeeReader(io.LimitReader(r, escrow.MaxArchiveSize), h))
	if err == nil {
		_, err = io.Copy(h, io.LimitReader(r, escrow.MaxArchiveSize)) // bytes after the gzip stream count too
	}
	if err != nil {
		problem := ProblemMalformed
		if !errors.Is(err, escrow.ErrArchive) {
			problem = ProblemUnreadable
		}
		s.Add(failed(f, problem, "", "", fmt.Sprintf("cannot use the escrow archive: %v", err), "re-download the bundle; an escrow holds only the release's records"))
		return nil, sum, false
	}
	copy(sum[:], h.Sum(nil))
	return members, sum, true
}

func (c escrowCheck) signature(s *Session, sum [32]byte) bool {
	f := Finding{Check: "escrow", File: bundle.EscrowSigFile}
	sig, err := s.Bundle.ReadFile(bundle.EscrowSigFile, MaxSigBundleSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return false
	}
	digest := hex.EncodeToString(sum[:])
	if _, err := c.v.VerifyMessage(sig, sum); err != nil {
		s.Add(failed(f, ProblemBadSignature, "a signature over escrow.tar.gz (sha256:"+digest+") by a trusted key", "", err.Error(),
			"do not trust the escrow or the notes, changelog and audit summary it covers: re-download the bundle"))
		return false
	}
	s.Verified(bundle.EscrowSigFile, sig)
	s.Add(Finding{Check: "escrow", File: bundle.EscrowSigFile, Status: Pass, Message: "escrow.tar.gz (sha256:" + digest + ") is signed by a trusted key"})
	return true
}

// compare requires every member to equal its loose file and the post-manifest records to
// be in the escrow.
func (escrowCheck) compare(s *Session, members []escrow.Member) {
	s.Claim(bundle.EscrowFile)
	loose, ok := looseRecords(s, members)
	if !ok {
		return
	}
	problems := escrow.Check(members, loose)
	bad := map[string]bool{}
	for _, p := range problems {
		bad[p.File] = true
		s.Add(failed(Finding{Check: "escrow", File: p.File}, ProblemAttestation, "", "", p.Message,
			"restore the released file (re-download the bundle); the signed escrow is the reference"))
	}
	if len(problems) == 0 {
		s.Add(Finding{Check: "escrow", File: bundle.EscrowFile, Status: Pass, Message: fmt.Sprintf("signed; its %d records equal the bundle's, manifest.json included", len(members))})
	}
	for _, name := range escrow.Covered {
		if _, ok := loose[name]; ok && !bad[name] {
			s.Add(Finding{Check: "escrow", File: name, Status: Pass, Message: "equals its signed copy in escrow.tar.gz"})
		}
	}
}

// looseRecords hashes the bundle's copies of the escrow's members and of the post-manifest
// records. manifest.json is taken as the gate read it, so "equal" means the very bytes whose
// digests every other check used.
func looseRecords(s *Session, members []escrow.Member) (map[string]string, bool) {
	names := append([]string(nil), escrow.Covered...)
	for _, m := range members {
		names = append(names, m.Name)
	}
	loose := map[string]string{bundle.ManifestFile: hex.EncodeToString(s.manifestSum[:])}
	ok := true
	for _, name := range names {
		if _, done := loose[name]; done || !s.Has(name) {
			continue
		}
		data, err := s.Bundle.ReadFile(name, escrow.MaxMemberSize)
		if err != nil {
			s.Add(openFailure(Finding{Check: "escrow", File: name}, err))
			ok = false
			continue
		}
		sum := sha256.Sum256(data)
		loose[name] = hex.EncodeToString(sum[:])
	}
	return loose, ok
}

// uncovered reports the post-manifest records as unchecked when the escrow that would
// cover them cannot be trusted: a result, not a silent pass.
func (escrowCheck) uncovered(s *Session, why string) {
	s.Claim(bundle.EscrowFile, bundle.EscrowSigFile)
	for _, name := range escrow.Covered {
		if s.Has(name) {
			s.Add(Finding{Check: "escrow", File: name, Status: Skip, Problem: ProblemNotChecked, Message: "not covered by a signature: " + why})
		}
	}
}
