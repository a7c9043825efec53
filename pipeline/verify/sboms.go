package verify

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// sbomCheck verifies every SBOM the manifest lists: its signed statement (a trusted key,
// the SBOM as predicate, the artifacts that ship the binary as subjects), and its content
// against the binary read again out of each of those artifacts, cross-checked against the
// bundle's deps.lock.json. When the manifest declares SBOMs, every archive and image must
// be the subject of one.
type sbomCheck struct{ v Verifier }

func (sbomCheck) Name() string { return "sbom" }

func (c sbomCheck) Run(_ context.Context, s *Session) {
	atts := s.Paths(bundle.IsSBOMAttestation)
	if s.Manifest == nil {
		s.Claim(atts...)
		return
	}
	sboms := s.Manifest.Artifacts.Filter(isSBOM)
	c.strays(s, atts, sboms)
	if len(sboms) == 0 {
		if s.Manifest.Declares(bundle.AttestSBOM) {
			s.Add(failed(Finding{Check: "sbom", File: bundle.SBOMDir}, ProblemMissing, "present", "missing", "the manifest declares SBOMs but lists none", "re-download the bundle"))
		}
		return
	}
	if !s.artifactsIntact() {
		for _, a := range sboms {
			s.Claim(sbom.AttestationFile(a.Path))
			s.Add(Finding{Check: "sbom", File: a.Path, Status: Skip, Problem: ProblemNotChecked, Message: "not checked: the bundle already failed"})
		}
		return
	}
	rel, note, err := c.release(s)
	if err != nil {
		s.Add(failed(Finding{Check: "sbom", File: bundle.DepsLockFile}, ProblemMalformed, "", "", err.Error(), "re-download the bundle"))
		return
	}
	covered := map[string]bool{}
	for _, paths := range c.checkAll(s, rel, sboms, note) {
		for _, p := range paths {
			covered[p] = true
		}
	}
	if s.Manifest.Declares(bundle.AttestSBOM) {
		for _, a := range s.Manifest.Artifacts {
			if (a.Kind == artifact.KindArchive || a.Kind == artifact.KindImage) && !covered[a.Path] {
				s.Add(failed(Finding{Check: "sbom", File: a.Path}, ProblemMissing, "an SBOM", "none", "no verified SBOM describes the binaries this artifact ships", "re-download the bundle"))
			}
		}
	}
}

func isSBOM(a artifact.Artifact) bool {
	return path.Dir(a.Path) == bundle.SBOMDir && strings.HasSuffix(a.Path, ".cdx.json")
}

// strays fails an SBOM attestation whose SBOM the manifest does not list.
func (sbomCheck) strays(s *Session, atts []string, sboms artifact.List) {
	listed := map[string]bool{}
	for _, a := range sboms {
		listed[sbom.AttestationFile(a.Path)] = true
	}
	for _, p := range atts {
		if !listed[p] {
			s.Add(failed(Finding{Check: "sbom", File: p}, ProblemUnexpected, "not present", "present", "an SBOM attestation for an SBOM the manifest does not list", "remove it, or re-download the bundle"))
		}
	}
}

// release is what the SBOMs are checked against; without a lock in the bundle the modules
// are checked against the binaries only, and the findings say so.
func (sbomCheck) release(s *Session) (sbom.Release, string, error) {
	rel := sbom.Release{Dir: s.Bundle.Dir, Artifacts: s.Manifest.Artifacts, Memo: s.sbomMemo}
	if _, ok := s.Manifest.Artifacts.ByPath()[bundle.DepsLockFile]; !ok {
		return rel, " (no deps.lock.json in the release to cross-check the modules against)", nil
	}
	data, err := s.Bundle.ReadFile(bundle.DepsLockFile, freeze.MaxLockSize)
	if err != nil {
		return rel, "", fmt.Errorf("%s: %w", bundle.DepsLockFile, err)
	}
	if rel.Lock, err = freeze.ParseLock(bundle.DepsLockFile, data); err != nil {
		return rel, "", err
	}
	return rel, " and the lock", nil
}

// checkAll checks the SBOMs side by side, one per core: each inflates its binary out of
// every archive and image that ships it, the gate's heaviest work. The report sorts the
// findings, so the order they finish in does not show.
func (c sbomCheck) checkAll(s *Session, rel sbom.Release, sboms artifact.List, note string) [][]string {
	out := make([][]string, len(sboms))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, a := range sboms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = c.checkOne(s, rel, a, note)
		}()
	}
	wg.Wait()
	return out
}

// checkOne verifies one SBOM and its attestation, and returns the artifacts it covers.
func (c sbomCheck) checkOne(s *Session, rel sbom.Release, a artifact.Artifact, note string) []string {
	f := Finding{Check: "sbom", File: a.Path}
	att := sbom.AttestationFile(a.Path)
	s.Claim(att)
	data, err := s.Bundle.ReadFile(a.Path, sbom.MaxSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return nil
	}
	if !s.Has(att) {
		s.Add(failed(f, ProblemMissing, att, "missing", "the SBOM has no signed attestation", "re-download the bundle"))
		return nil
	}
	sig, err := s.Bundle.ReadFile(att, MaxSigBundleSize)
	if err != nil {
		s.Add(openFailure(Finding{Check: "sbom", File: att}, err))
		return nil
	}
	stmt, _, err := c.v.VerifyDSSE(sig, attest.PayloadType)
	if err != nil {
		s.Add(failed(Finding{Check: "sbom", File: att}, ProblemBadSignature, "a DSSE envelope signed by a trusted key", "", err.Error(), "do not trust this SBOM"))
		return nil
	}
	if err := sbom.CheckStatement(stmt, a.Path, data, s.Manifest.Artifacts); err != nil {
		s.Add(failed(Finding{Check: "sbom", File: att}, ProblemAttestation, "", "", err.Error(), "the attestation does not vouch for this SBOM"))
		return nil
	}
	covers, err := sbom.Check(rel, a.Path, data)
	if err != nil {
		s.Add(failed(f, ProblemAttestation, "", "", err.Error(), "the SBOM does not describe the binary the release ships: do not trust it"))
		return nil
	}
	s.Verified(att, sig)
	f.Status, f.Message = Pass, fmt.Sprintf("signed, and equal to the build info of the binary in %s%s", strings.Join(covers, ", "), note)
	s.Add(f)
	return covers
}
