package verify

import (
	"fmt"
	"sync"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// Session is the state one gate run shares between checks: the open bundle, its manifest
// (nil when it could not be loaded), the files found in it, and the report.
type Session struct {
	Bundle   *bundle.Bundle
	Manifest *bundle.Manifest
	Report   *Report

	manifestSum [32]byte // sha256 of manifest.json as read, once the manifest is loaded
	signer      string   // fingerprint of the trusted key that signed the manifest
	sbomMemo    *sbom.Memo

	mu        sync.Mutex
	inventory map[string]bundle.Entry
	claimed   map[string]bool
}

func newSession(b *bundle.Bundle, inv []bundle.Entry, dir string) *Session {
	s := &Session{Bundle: b, Report: newReport(dir), inventory: map[string]bundle.Entry{}, claimed: map[string]bool{}}
	for _, e := range inv {
		s.inventory[e.Path] = e
	}
	return s
}

// Add records a finding and claims its file. Safe for concurrent use.
func (s *Session) Add(f Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Report.add(f)
	s.claimed[f.File] = true
}

// Claim marks bundle paths as examined by a check, so they are not reported as unexpected.
func (s *Session) Claim(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range paths {
		s.claimed[p] = true
	}
}

// Has reports whether the bundle contains path p (as any kind of entry).
func (s *Session) Has(p string) bool {
	_, ok := s.inventory[p]
	return ok
}

// Paths returns the bundle's paths for which keep is true, sorted.
func (s *Session) Paths(keep func(string) bool) []string {
	var out []string
	for p := range s.inventory {
		if keep(p) {
			out = append(out, p)
		}
	}
	sortStrings(out)
	return out
}

// Authenticated records that signatures were checked against a trusted key.
func (s *Session) Authenticated() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Report.Authenticated = true
}

// Verified records a signed record whose signature checked out, for the summary's inputs.
func (s *Session) Verified(p string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Report.Inputs = append(s.Report.Inputs, InputFile{Path: p, SHA256: digest.Bytes(data)})
}

// artifactsIntact reports whether every artifact was checked and matched the manifest.
func (s *Session) artifactsIntact() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.Report.counts["artifact"]
	return s.Manifest != nil && c != nil && c.Failed == 0 && c.Passed == len(s.Manifest.Artifacts)
}

// MaxRecordSize bounds every bundle file that is not an artifact (artifacts are bounded by
// their manifest size): no record the pipeline writes comes near it.
const MaxRecordSize = 256 << 20

// oversizedRecords fails every non-artifact file over MaxRecordSize and reports whether
// there was one.
func (s *Session) oversizedRecords() bool {
	listed := s.Manifest.Artifacts.ByPath()
	found := false
	for _, e := range s.sortedInventory() {
		if _, ok := listed[e.Path]; ok || e.Size <= MaxRecordSize {
			continue
		}
		found = true
		s.Add(failed(Finding{Check: "inventory", File: e.Path}, ProblemSizeMismatch, fmt.Sprintf("at most %d bytes", MaxRecordSize), fmt.Sprint(e.Size),
			"far larger than any record a release holds", "remove it, or re-download the bundle"))
	}
	return found
}

// signedBy records the fingerprint of the key that signed the manifest.
func (s *Session) signedBy(fingerprint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signer = fingerprint
}
