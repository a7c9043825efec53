package attest

import (
	"fmt"
	"sort"
	"strings"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sentientos/reliquary/pipeline/artifact"
)

// MaxStatementSize bounds one statement before it is parsed. A full shard of 1024 subjects
// with SHA-256 and SHA-512 digests is about 300 KiB.
const MaxStatementSize = 16 << 20

// Problem codes: stable identifiers for the kinds of disagreement Check reports.
const (
	CodeMalformed        = "statement-malformed"      // not an in-toto v1 statement
	CodePredicateType    = "predicate-type"           // not SLSA Provenance v1
	CodePredicate        = "predicate-invalid"        // the predicate is not valid SLSA Provenance v1
	CodeVersion          = "version-mismatch"         // the statement is for another version
	CodeSubjectMissing   = "subject-missing"          // a manifest subject no statement names
	CodeSubjectExtra     = "subject-extra"            // a subject the manifest does not list
	CodeSubjectMismatch  = "subject-digest-mismatch"  // same name, different digests
	CodeSubjectDuplicate = "subject-duplicate"        // a subject named twice
	CodeNoStatements     = "provenance-missing"       // nothing to check
	CodeShardMismatch    = "shard-predicate-mismatch" // shards of one release must share one predicate
)

// Problem is one way the provenance disagrees with the manifest.
type Problem struct {
	File    string `json:"file,omitempty"`    // the statement's bundle file; empty for a missing subject
	Subject string `json:"subject,omitempty"` // the subject concerned, when there is one
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	file := p.File
	if file == "" {
		file = "provenance"
	}
	if p.Subject != "" {
		return fmt.Sprintf("%s: %s: %s", file, p.Subject, p.Message)
	}
	return fmt.Sprintf("%s: %s", file, p.Message)
}

// Signed is a statement whose DSSE signature the caller has verified (trust.VerifyDSSE), with
// the bundle file it came from.
type Signed struct {
	File      string
	Statement []byte
}

// Check compares a release's provenance statements with its manifest and returns every
// problem found, nil when they agree. It is a pure function: the caller verifies the
// signatures first and passes the statements they cover.
//
// Each statement must be an in-toto v1 Statement (in-toto attestation spec v1,
// statement.md) whose predicateType is SLSA Provenance v1 and whose predicate parses as
// one, for the manifest's version (externalParameters.version), so that a correctly signed
// statement from another release cannot be replayed. Across all statements, the subjects
// must equal the manifest's provenance subjects exactly: every one named once, with the
// same name (SubjectName) and the same digest set, and nothing else. Subjects are looked
// up in a map: one pass over the statements, whatever the number of artifacts.
func Check(stmts []Signed, artifacts artifact.List, version string) []Problem {
	want := make(map[string]artifact.Artifact)
	for _, a := range artifacts.Subjects() {
		want[SubjectName(a)] = a
	}
	c := &checker{want: want, seenIn: make(map[string]string, len(want)), version: version}
	if len(stmts) == 0 {
		c.add(Problem{Code: CodeNoStatements, Message: "no provenance statements to check"})
	}
	for _, s := range stmts {
		c.statement(s)
	}
	c.missing()
	return c.problems
}

type checker struct {
	want      map[string]artifact.Artifact
	seenIn    map[string]string // subject name -> file that named it
	version   string
	predicate []byte // the first statement's predicate, canonical, to compare shards
	predFile  string
	problems  []Problem
}

func (c *checker) add(p Problem) { c.problems = append(c.problems, p) }

func (c *checker) statement(s Signed) {
	st, err := parseStatement(s.Statement)
	if err != nil {
		c.add(Problem{File: s.File, Code: CodeMalformed, Message: err.Error()})
		return
	}
	if st.GetPredicateType() != PredicateType {
		c.add(Problem{File: s.File, Code: CodePredicateType,
			Message: fmt.Sprintf("predicate type: want %q, got %q", PredicateType, st.GetPredicateType())})
	} else {
		c.predicateOf(s.File, st)
	}
	for _, subj := range st.GetSubject() {
		c.subject(s.File, subj)
	}
}

func parseStatement(data []byte) (*intoto.Statement, error) {
	if len(data) > MaxStatementSize {
		return nil, fmt.Errorf("statement of %d bytes is over the %d-byte limit", len(data), MaxStatementSize)
	}
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("not an in-toto statement: %v", err)
	}
	if st.GetType() != intoto.StatementTypeUri {
		return nil, fmt.Errorf("statement type: want %q, got %q", intoto.StatementTypeUri, st.GetType())
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("invalid in-toto statement: %v", err)
	}
	return st, nil
}

// predicateOf checks the SLSA predicate: valid, for this version, and the same in every shard.
func (c *checker) predicateOf(file string, st *intoto.Statement) {
	raw, err := Marshal(st.GetPredicate())
	if err != nil {
		c.add(Problem{File: file, Code: CodePredicate, Message: fmt.Sprintf("predicate: %v", err)})
		return
	}
	prov := &provenance.Provenance{}
	// SLSA v1: consumers ignore fields they do not know.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, prov); err != nil {
		c.add(Problem{File: file, Code: CodePredicate, Message: fmt.Sprintf("predicate is not SLSA Provenance v1: %v", err)})
		return
	}
	if err := prov.Validate(); err != nil {
		c.add(Problem{File: file, Code: CodePredicate, Message: fmt.Sprintf("predicate: %v", err)})
		return
	}
	got := prov.GetBuildDefinition().GetExternalParameters().GetFields()["version"].GetStringValue()
	if got != c.version {
		c.add(Problem{File: file, Code: CodeVersion, Message: fmt.Sprintf(
			"buildDefinition.externalParameters.version: want %q (the manifest's), got %q: a statement from another release", c.version, got)})
	}
	if c.predicate == nil {
		c.predicate, c.predFile = raw, file
	} else if string(raw) != string(c.predicate) {
		c.add(Problem{File: file, Code: CodeShardMismatch, Message: fmt.Sprintf(
			"predicate differs from the one in %s: shards of one release share one predicate", c.predFile)})
	}
}

func (c *checker) subject(file string, subj *intoto.ResourceDescriptor) {
	name := subj.GetName()
	if prev, dup := c.seenIn[name]; dup {
		c.add(Problem{File: file, Subject: name, Code: CodeSubjectDuplicate, Message: "named again (already in " + prev + ")"})
		return
	}
	c.seenIn[name] = file
	a, ok := c.want[name]
	if !ok {
		c.add(Problem{File: file, Subject: name, Code: CodeSubjectExtra, Message: "subject is not an artifact of the manifest"})
		return
	}
	if diff := diffDigests(digestSet(a.Digest), subj.GetDigest()); diff != "" {
		c.add(Problem{File: file, Subject: name, Code: CodeSubjectMismatch, Message: diff})
	}
}

// missing reports manifest subjects no statement named, sorted.
func (c *checker) missing() {
	var names []string
	for name := range c.want {
		if _, ok := c.seenIn[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		c.add(Problem{Subject: name, Code: CodeSubjectMissing, Message: "artifact is not a subject of any provenance statement"})
	}
}

// diffDigests describes how the statement's digest set differs from the manifest's, or
// returns "" when they are equal.
func diffDigests(want, got map[string]string) string {
	algs := map[string]bool{}
	for a := range want {
		algs[a] = true
	}
	for a := range got {
		algs[a] = true
	}
	var sorted []string
	for a := range algs {
		sorted = append(sorted, a)
	}
	sort.Strings(sorted)
	var diffs []string
	for _, a := range sorted {
		w, inWant := want[a]
		g, inGot := got[a]
		switch {
		case !inGot:
			diffs = append(diffs, fmt.Sprintf("digest %s: manifest has %s, statement has none", a, w))
		case !inWant:
			diffs = append(diffs, fmt.Sprintf("digest %s: statement has %s, manifest has none", a, g))
		case w != g:
			diffs = append(diffs, fmt.Sprintf("digest %s: manifest has %s, statement has %s", a, w, g))
		}
	}
	return strings.Join(diffs, "; ")
}
