package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/artifact"
)

// ReportSchema identifies version 1 of the gate's JSON report.
const ReportSchema = "https://reliquary.dev/verification-report/v1"

// Status is a check's outcome for one file. A skipped check is a result, never a pass.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Finding is one result about one file. Failures name the file, what was expected, what
// was found, and what to do.
type Finding struct {
	Check    string `json:"check"`
	File     string `json:"file"`
	Status   Status `json:"status"`
	Problem  string `json:"problem,omitempty"` // stable code, e.g. "digest-mismatch"
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// CheckSummary counts one check's results.
type CheckSummary struct {
	Check   string `json:"check"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
}

// Report is everything one run of the gate found. Findings holds every failure and every
// skip; passes are counted per check.
type Report struct {
	Schema         string         `json:"schema"`
	Bundle         string         `json:"bundle"`
	Project        string         `json:"project,omitempty"`
	Version        string         `json:"version,omitempty"`
	ManifestSHA256 string         `json:"manifestSha256,omitempty"`
	Verified       bool           `json:"verified"`
	Authenticated  bool           `json:"authenticated"`         // signatures checked against a trusted key
	DigestsOnly    bool           `json:"digestsOnly,omitempty"` // the caller opted out of signature checks
	Inputs         []InputFile    `json:"inputs,omitempty"`      // signed records whose signatures verified
	Checks         []CheckSummary `json:"checks"`
	Findings       []Finding      `json:"findings"`
	Artifacts      artifact.List  `json:"-"` // the manifest's artifacts, when it could be read
	counts         map[string]*CheckSummary
}

// InputFile is a signed bundle record the gate verified, by path and sha256.
type InputFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

func newReport(dir string) *Report {
	return &Report{Schema: ReportSchema, Bundle: dir, Findings: []Finding{}, counts: map[string]*CheckSummary{}}
}

func (r *Report) add(f Finding) {
	c := r.counts[f.Check]
	if c == nil {
		c = &CheckSummary{Check: f.Check}
		r.counts[f.Check] = c
	}
	switch f.Status {
	case Pass:
		c.Passed++
		return
	case Fail:
		c.Failed++
	case Skip:
		c.Skipped++
	}
	r.Findings = append(r.Findings, f)
}

// finish sorts findings and sets the verdict.
func (r *Report) finish() {
	r.Checks = r.Checks[:0]
	for _, c := range r.counts {
		r.Checks = append(r.Checks, *c)
	}
	sort.Slice(r.Inputs, func(i, j int) bool { return r.Inputs[i].Path < r.Inputs[j].Path })
	sort.Slice(r.Checks, func(i, j int) bool { return r.Checks[i].Check < r.Checks[j].Check })
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Status != b.Status {
			return a.Status == Fail
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Check < b.Check
	})
	r.Verified = r.Failures() == 0
}

// Failures counts failed findings.
func (r *Report) Failures() int {
	n := 0
	for _, f := range r.Findings {
		if f.Status == Fail {
			n++
		}
	}
	return n
}

// JSON renders the report for machines.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteText renders the report for people: every failure and skip, then the verdict.
func (r *Report) WriteText(w io.Writer) {
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%s %s: %s\n", strings.ToUpper(string(f.Status)), f.File, f.Message)
		if f.Expected != "" || f.Actual != "" {
			fmt.Fprintf(w, "     expected: %s\n     actual:   %s\n", orNone(f.Expected), orNone(f.Actual))
		}
		if f.Hint != "" {
			fmt.Fprintf(w, "     what to do: %s\n", f.Hint)
		}
	}
	var passed, failed, skipped int
	for _, c := range r.Checks {
		passed, failed, skipped = passed+c.Passed, failed+c.Failed, skipped+c.Skipped
	}
	verdict := "VERIFIED"
	if !r.Verified {
		verdict = "FAILED"
	} else if r.DigestsOnly {
		verdict = "VERIFIED (digests only, as asked by --digests-only: signatures not checked, so anyone could have re-digested this release)"
	}
	fmt.Fprintf(w, "%s %s %s: %d checks passed, %d failed, %d skipped\n", verdict, orNone(r.Project), orNone(r.Version), passed, failed, skipped)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
