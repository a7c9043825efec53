// Package repro states, in a signed in-toto statement, that a release was rebuilt from the
// same source in another directory with an empty build cache and every artifact came out
// byte for byte the same; and checks such a statement against a manifest.
package repro

import (
	"errors"
	"fmt"
	"sort"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
)

// PredicateType identifies reliquary's reproducibility predicate, version 1.
const PredicateType = "https://reliquary.dev/reproducibility/v1"

// ErrStatement is the root of Check's errors.
var ErrStatement = errors.New("invalid reproducibility statement")

// Result is what the rebuild found.
type Result struct {
	Version     string   // the release version
	Reproduced  []string // artifact paths rebuilt identically
	Differences []string // one line per artifact that differed, with where
	Method      string   // how the rebuild differed from the build
}

// OK reports whether everything was reproduced.
func (r Result) OK() bool { return len(r.Differences) == 0 && len(r.Reproduced) > 0 }

// Statement returns the statement over the release's subjects, serialized with protojson.
func Statement(res Result, artifacts artifact.List) ([]byte, error) {
	verdict := "reproduced"
	if !res.OK() {
		verdict = "differs"
	}
	pred, err := structpb.NewStruct(map[string]any{
		"version": res.Version, "result": verdict, "method": res.Method,
		"reproduced": toAny(res.Reproduced), "differences": toAny(res.Differences),
	})
	if err != nil {
		return nil, err
	}
	var subj []*intoto.ResourceDescriptor
	for _, a := range artifacts.Subjects() {
		subj = append(subj, &intoto.ResourceDescriptor{Name: attest.SubjectName(a), Digest: map[string]string{"sha256": a.Digest.SHA256}})
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: subj, PredicateType: PredicateType, Predicate: pred}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	return attest.Marshal(st)
}

// Check verifies a (signature-checked) statement: it is for this version, its result is
// "reproduced", and its subjects are exactly the manifest's subjects with their digests.
func Check(stmt []byte, artifacts artifact.List, version string) error {
	if len(stmt) > attest.MaxStatementSize {
		return fmt.Errorf("%w: too large", ErrStatement)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(stmt, &st); err != nil {
		return fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if err := st.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if st.GetPredicateType() != PredicateType {
		return fmt.Errorf("%w: predicateType %q, want %q", ErrStatement, st.GetPredicateType(), PredicateType)
	}
	fields := st.GetPredicate().GetFields()
	if v := fields["version"].GetStringValue(); v != version {
		return fmt.Errorf("%w: for version %q, the manifest is %q", ErrStatement, v, version)
	}
	if r := fields["result"].GetStringValue(); r != "reproduced" {
		return fmt.Errorf("%w: result %q: the rebuild did not reproduce the release", ErrStatement, r)
	}
	return sameSubjects(st.GetSubject(), artifacts)
}

func sameSubjects(got []*intoto.ResourceDescriptor, artifacts artifact.List) error {
	want := map[string]string{}
	for _, a := range artifacts.Subjects() {
		want[attest.SubjectName(a)] = a.Digest.SHA256
	}
	var problems []string
	for _, s := range got {
		d, ok := want[s.GetName()]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("names %s, which the manifest does not", s.GetName()))
		case s.GetDigest()["sha256"] != d:
			problems = append(problems, fmt.Sprintf("gives %s another sha256 than the manifest", s.GetName()))
		}
		delete(want, s.GetName())
	}
	for name := range want {
		problems = append(problems, fmt.Sprintf("does not name %s", name))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%w: %v", ErrStatement, problems)
	}
	return nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
