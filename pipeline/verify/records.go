package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/repro"
	"github.com/sentientos/reliquary/pipeline/vsa"
)

// linksCheck verifies the in-toto layout and links (in-toto spec v1.0 §5.3, via package
// links): the layout signed by a trusted key and naming this bundle's manifest, one
// authorized link per step, every artifact rule, keys/ holding exactly the key files the
// signed sign link names, and the inspection over the bundle as it is now.
type linksCheck struct{ pubs []*keys.PublicKey }

func (linksCheck) Name() string { return "links" }

func (c linksCheck) Run(_ context.Context, s *Session) {
	files := s.Paths(func(p string) bool { return strings.HasPrefix(p, bundle.LinksDir+"/") })
	if s.Manifest == nil {
		s.Claim(files...)
		return
	}
	f := Finding{Check: "links", File: bundle.LayoutFile}
	if len(files) == 0 {
		if s.Manifest.Declares(bundle.AttestLinks) {
			s.Add(failed(f, ProblemMissing, "present", "missing", "the manifest declares in-toto links but the bundle has none", "re-download the bundle"))
		}
		return
	}
	// in-toto hashes every file of the bundle for its inspection. Only let it when the
	// artifacts are known good (their digests are handed over) and every other file is of a
	// sane size, so a huge planted file cannot stall the gate.
	if !s.artifactsIntact() || s.oversizedRecords() {
		s.Claim(files...)
		s.Add(Finding{Check: "links", File: bundle.LayoutFile, Status: Skip, Problem: ProblemNotChecked, Message: "not checked: the bundle already failed"})
		return
	}
	res, err := links.Verify(s.Bundle.Dir, c.pubs, links.WithHashed(links.FromArtifacts(s.Manifest.Artifacts)))
	var fe *links.FileError
	switch {
	case errors.As(err, &fe):
		s.Claim(files...)
		for _, p := range fe.Problems {
			s.Add(failed(Finding{Check: "links", File: p.File}, ProblemAttestation, "", "", p.Message,
				"the signed layout and links do not vouch for this file: restore the released bundle (re-download it)"))
		}
		return
	case err != nil:
		s.Claim(files...)
		s.Add(failed(f, ProblemAttestation, "", "", err.Error(), "the supply-chain links do not match the bundle: do not use the release"))
		return
	}
	c.claimUsed(s, files, res.Steps)
	f.Status, f.Message = Pass, fmt.Sprintf("layout and links of steps %s verify", strings.Join(res.Steps, ", "))
	s.Add(f)
}

// claimUsed accepts the layout, the link of every verified step by a trusted key, and the
// record the stock in-toto verifier leaves when an auditor runs it in the bundle; any other
// file under links/ is unexpected.
func (c linksCheck) claimUsed(s *Session, files, steps []string) {
	used := map[string]bool{bundle.LayoutFile: true}
	for _, pub := range c.pubs {
		k, err := links.KeyOf(pub)
		if err != nil {
			continue
		}
		for _, step := range steps {
			used[links.LinkFile(step, k)] = true
		}
	}
	for _, p := range files {
		switch {
		case used[p]:
			s.Claim(p)
		case strings.HasPrefix(p, links.InspectionName+".") && strings.HasSuffix(p, ".link"):
			s.Add(Finding{Check: "links", File: p, Status: Pass, Message: "a stock in-toto inspection record (informational)"})
		default:
			s.Add(failed(Finding{Check: "links", File: p}, ProblemUnexpected, "not present", "present", "not a link of any step the layout names", "remove it, or re-download the bundle"))
		}
	}
}

// recordCheck verifies one optional signed statement: a DSSE bundle whose payload a
// per-record function checks against the manifest. Declared records must be present.
type recordCheck struct {
	v        Verifier
	name     string // the check's name in the report
	file     string
	declared string // the manifest attestation kind that makes the record required; "" if never
	check    func(s *Session, stmt []byte) error
}

func (c recordCheck) Name() string { return c.name }

func (c recordCheck) Run(_ context.Context, s *Session) {
	f := Finding{Check: c.name, File: c.file}
	if s.Manifest == nil {
		s.Claim(c.file)
		return
	}
	if !s.Has(c.file) {
		if c.declared != "" && s.Manifest.Declares(c.declared) {
			s.Add(failed(f, ProblemMissing, "present", "missing", fmt.Sprintf("the manifest declares a %s record but the bundle has none", c.declared), "re-download the bundle"))
		}
		return
	}
	data, err := s.Bundle.ReadFile(c.file, MaxSigBundleSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return
	}
	stmt, _, err := c.v.VerifyDSSE(data, attest.PayloadType)
	if err != nil {
		s.Add(failed(f, ProblemBadSignature, "a DSSE envelope signed by a trusted key", "", err.Error(), "do not trust this record"))
		return
	}
	if err := c.check(s, stmt); err != nil {
		s.Add(failed(f, ProblemAttestation, "", "", err.Error(), "the record does not describe this release"))
		return
	}
	s.Verified(c.file, data)
	f.Status, f.Message = Pass, "signed and matches the manifest"
	s.Add(f)
}

func reproducibilityCheck(v Verifier) Check {
	return recordCheck{v: v, name: "reproducibility", file: bundle.ReproSigFile, declared: bundle.AttestReproducibility,
		check: func(s *Session, stmt []byte) error {
			return repro.Check(stmt, s.Manifest.Artifacts, s.Manifest.Version)
		}}
}

// summaryCheck verifies a verification summary left in the bundle by an earlier gate run
// (the release's own): signed, for this very manifest, and PASSED.
func summaryCheck(v Verifier) Check {
	return recordCheck{v: v, name: "summary", file: bundle.VSAFile,
		check: func(s *Session, stmt []byte) error {
			sum, err := vsa.Parse(stmt)
			if err != nil {
				return err
			}
			if sum.ManifestSHA256 != s.Report.ManifestSHA256 {
				return fmt.Errorf("summarises manifest sha256:%s, not this one (sha256:%s)", sum.ManifestSHA256, s.Report.ManifestSHA256)
			}
			if sum.Result != "PASSED" {
				return fmt.Errorf("records result %s", sum.Result)
			}
			return nil
		}}
}

// reportCheck refuses verification.json, a gate report, in a bundle. Nothing signs it, so
// whoever can change the bundle can write any verdict into it, and a reader might trust it;
// the gate's verdict travels signed, as verification.sigstore.json. Releases do not write it.
type reportCheck struct{}

func (reportCheck) Name() string { return "report" }

func (reportCheck) Run(_ context.Context, s *Session) {
	if s.Has(bundle.VerificationFile) {
		s.Add(failed(Finding{Check: "report", File: bundle.VerificationFile}, ProblemUnexpected, "not present", "present",
			"an unsigned gate report has no place in a release: nothing binds it, so it could say anything (the signed verdict is "+bundle.VSAFile+")",
			"remove it, and write reports outside the bundle (reliquary verify --report FILE)"))
	}
}

// benchmarkCheck verifies the signed benchmark statement against bench.json (whose digest
// the manifest already binds), re-deriving every verdict from the samples, and requires
// that the recorded gate did not fail.
func benchmarkCheck(v Verifier) Check {
	return recordCheck{v: v, name: "benchmark", file: bundle.BenchSigFile, declared: bundle.AttestBenchmark,
		check: func(s *Session, stmt []byte) error {
			data, err := s.Bundle.ReadFile(bundle.BenchFile, bench.MaxReportSize)
			if err != nil {
				return fmt.Errorf("%s: %w", bundle.BenchFile, err)
			}
			report, err := bench.CheckStatement(stmt, data)
			if err != nil {
				return err
			}
			if report.Gate.Status == bench.GateFailed {
				return fmt.Errorf("records a failed benchmark gate: %v", report.Gate.Err())
			}
			return nil
		}}
}
