package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// PredicateType is the in-toto predicate type of the benchmark statement. No better-known
// type fits: SLSA and in-toto define none for performance results.
const PredicateType = "https://reliquary.dev/benchmark/v1"

// SourceSubject names the statement's second subject: the source commit measured.
const SourceSubject = "source"

// MaxStatementSize bounds a statement read back for checking.
const MaxStatementSize = 1 << 20

// ErrStatement is the root of every CheckStatement error.
var ErrStatement = errors.New("invalid benchmark statement")

// predicate is the statement's predicate: the gate's outcome and where it was measured. The
// samples and comparison stay in bench.json, which the statement binds by digest.
type predicate struct {
	BenchFile string    `json:"benchFile"`
	Schema    string    `json:"schema"`
	Machine   Machine   `json:"machine"`
	Current   sideInfo  `json:"current"`
	Baseline  *sideInfo `json:"baseline,omitempty"`
	Gate      Gate      `json:"gate"`
}

type sideInfo struct {
	Ref    string `json:"ref,omitempty"`
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
}

// Statement returns an in-toto v1 Statement (JSON, from protojson, compacted) about
// benchJSON: subjects are bench.json by sha256 and, when known, the source commit by
// gitCommit; the predicate is the gate's outcome. The lead signs it (DSSE); benchJSON must be
// the exact bytes shipped.
func Statement(benchJSON []byte) ([]byte, error) {
	r, err := Load(benchJSON)
	if err != nil {
		return nil, err
	}
	st, err := statementFor(benchJSON, r)
	if err != nil {
		return nil, err
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("bench: encode statement: %w", err)
	}
	// protojson varies its whitespace on purpose; compacting makes the bytes reproducible.
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("bench: encode statement: %w", err)
	}
	return out.Bytes(), nil
}

func statementFor(benchJSON []byte, r *Report) (*intoto.Statement, error) {
	sum := sha256.Sum256(benchJSON)
	subjects := []*intoto.ResourceDescriptor{{
		Name:   bundle.BenchFile,
		Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])},
	}}
	if c := r.Current.Commit; c != "" {
		if len(c) != 40 {
			return nil, fmt.Errorf("bench: statement: commit %s is not a SHA-1 git commit (in-toto gitCommit)", c)
		}
		subjects = append(subjects, &intoto.ResourceDescriptor{
			Name: SourceSubject, Digest: map[string]string{"gitCommit": c},
		})
	}
	pred, err := predicateFor(r)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("bench: statement: %w", err)
	}
	return st, nil
}

func predicateFor(r *Report) (*structpb.Struct, error) {
	p := predicate{
		BenchFile: bundle.BenchFile,
		Schema:    r.Schema,
		Machine:   r.Machine,
		Current:   sideInfo{Ref: r.Current.Ref, Commit: r.Current.Commit, Dirty: r.Current.Dirty},
		Gate:      r.Gate,
	}
	if b := r.Baseline; b != nil {
		p.Baseline = &sideInfo{Ref: b.Ref, Commit: b.Commit, Dirty: b.Dirty}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("bench: predicate: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("bench: predicate: %w", err)
	}
	return s, nil
}

// CheckStatement verifies that statementJSON is the benchmark statement about benchJSON: an
// in-toto v1 Statement of PredicateType whose subjects are exactly bench.json with benchJSON's
// sha256 and the commit bench.json records, whose predicate matches bench.json's gate, and
// whose bench.json is valid and its verdicts follow from its own samples. It returns the
// report. It does not check a signature: that is the caller's, on the DSSE envelope.
func CheckStatement(statementJSON, benchJSON []byte) (*Report, error) {
	if len(statementJSON) > MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrStatement, len(statementJSON), MaxStatementSize)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(statementJSON, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if st.GetType() != intoto.StatementTypeUri {
		return nil, fmt.Errorf("%w: _type: want %q, got %q", ErrStatement, intoto.StatementTypeUri, st.GetType())
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("%w: predicateType: want %q, got %q", ErrStatement, PredicateType, st.GetPredicateType())
	}
	if err := checkBenchSubject(&st, benchJSON); err != nil {
		return nil, err
	}
	r, err := Load(benchJSON)
	if err != nil {
		return nil, err
	}
	want, err := statementFor(benchJSON, r)
	if err != nil {
		return nil, err
	}
	if err := sameSubjects(want.GetSubject(), st.GetSubject()); err != nil {
		return nil, err
	}
	if !proto.Equal(want.GetPredicate(), st.GetPredicate()) {
		return nil, fmt.Errorf("%w: predicate does not match %s (gate, machine or commits differ)", ErrStatement, bundle.BenchFile)
	}
	if err := r.Recheck(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkBenchSubject finds the bench.json subject and compares its digest first, so a
// tampered bench.json is reported as exactly that.
func checkBenchSubject(st *intoto.Statement, benchJSON []byte) error {
	sum := sha256.Sum256(benchJSON)
	got := hex.EncodeToString(sum[:])
	for _, s := range st.GetSubject() {
		if s.GetName() != bundle.BenchFile {
			continue
		}
		want := s.GetDigest()["sha256"]
		if want != got {
			return fmt.Errorf("%w: subject %s: sha256 %s in the statement, but the file's is %s", ErrStatement, bundle.BenchFile, want, got)
		}
		return nil
	}
	return fmt.Errorf("%w: no subject named %s", ErrStatement, bundle.BenchFile)
}

func sameSubjects(want, got []*intoto.ResourceDescriptor) error {
	if len(want) != len(got) {
		return fmt.Errorf("%w: %d subjects, want %d (%s and the source commit)", ErrStatement, len(got), len(want), bundle.BenchFile)
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			return fmt.Errorf("%w: subject %d: got %s %v, want %s %v", ErrStatement, i,
				got[i].GetName(), got[i].GetDigest(), want[i].GetName(), want[i].GetDigest())
		}
	}
	return nil
}
