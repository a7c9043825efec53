package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/sentientos/reliquary/pipeline/artifact"
)

// StatementType is the in-toto statement type of an SBOM attestation.
const StatementType = "https://in-toto.io/Statement/v1"

// MaxStatementSize bounds an SBOM attestation's statement.
const MaxStatementSize = MaxSize + 1<<20

// AttestationFile is where the signed statement of the SBOM at path goes.
func AttestationFile(path string) string { return path + ".sigstore.json" }

type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is the in-toto statement attesting the SBOM at path (data its bytes): the SBOM
// as predicate (type https://cyclonedx.org/bom, what cosign --type cyclonedx expects), the
// artifacts that ship the binary, with the manifest's digests, as subjects.
func Statement(path string, data []byte, artifacts artifact.List) ([]byte, error) {
	b, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	subjects, err := subjectsOf(Release{Artifacts: artifacts}, path, b.Metadata.Component)
	if err != nil {
		return nil, err
	}
	var pred bytes.Buffer
	if err := json.Compact(&pred, data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSBOM, path, err)
	}
	st := statement{Type: StatementType, PredicateType: PredicateType, Predicate: pred.Bytes(),
		Subject: statementSubjects(subjects, artifacts)}
	out, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSBOM, path, err)
	}
	return out, nil
}

func statementSubjects(subjects []Subject, artifacts artifact.List) []subject {
	byPath := artifacts.ByPath()
	out := make([]subject, 0, len(subjects))
	for _, s := range subjects {
		d := map[string]string{"sha256": s.SHA256}
		if a := byPath[s.Path]; a.Digest.SHA512 != "" {
			d["sha512"] = a.Digest.SHA512
		}
		out = append(out, subject{Name: s.Path, Digest: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CheckStatement checks a verified statement's payload against the SBOM at path (data its
// bytes, bound by the manifest): the type, the predicate type, the predicate equal to the
// SBOM, and the subjects exactly the artifacts the SBOM names, with the manifest's digests.
func CheckStatement(stmt []byte, path string, data []byte, artifacts artifact.List) error {
	if len(stmt) > MaxStatementSize {
		return fmt.Errorf("%w: %s: statement larger than %d bytes", ErrSBOM, AttestationFile(path), MaxStatementSize)
	}
	want, err := Statement(path, data, artifacts)
	if err != nil {
		return err
	}
	var got, exp statement
	if err := json.Unmarshal(stmt, &got); err != nil {
		return fmt.Errorf("%w: %s: not an in-toto statement: %v", ErrSBOM, AttestationFile(path), err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		return err
	}
	var pred bytes.Buffer
	if err := json.Compact(&pred, got.Predicate); err != nil {
		return fmt.Errorf("%w: %s: predicate: %v", ErrSBOM, AttestationFile(path), err)
	}
	switch {
	case got.Type != StatementType || got.PredicateType != PredicateType:
		return fmt.Errorf("%w: %s: want a %s statement of a %s predicate, got %q of %q", ErrSBOM, AttestationFile(path), StatementType, PredicateType, got.Type, got.PredicateType)
	case !bytes.Equal(pred.Bytes(), exp.Predicate):
		return fmt.Errorf("%w: %s: the signed SBOM is not %s", ErrSBOM, AttestationFile(path), path)
	case !reflect.DeepEqual(got.Subject, exp.Subject):
		return fmt.Errorf("%w: %s: subjects %s, want %s (the artifacts that ship the binary)", ErrSBOM, AttestationFile(path), jsonOf(got.Subject), jsonOf(exp.Subject))
	}
	return nil
}
