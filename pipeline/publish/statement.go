package publish

import (
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Predicate types of the image's referrers.
const (
	// SignPredicateType is what `cosign sign` (v3, new bundle format) signs: an in-toto
	// statement about the image digest with an empty predicate.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// SLSAPredicateType is SLSA provenance v1 (`cosign verify-attestation --type slsaprovenance1`).
	SLSAPredicateType = "https://slsa.dev/provenance/v1"
	statementType     = "https://in-toto.io/Statement/v1"
)

// ErrStatement: a provenance statement this package cannot restate for the image.
var ErrStatement = errors.New("provenance statement")

type subject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// imageStatement is an in-toto statement about the image index d. The subject carries no
// name: the same digest is the same image in every registry it is copied to.
func imageStatement(d v1.Hash, predicateType string, predicate json.RawMessage) ([]byte, error) {
	return json.Marshal(statement{
		Type:          statementType,
		Subject:       []subject{{Digest: map[string]string{d.Algorithm: d.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
}

// signStatement is the statement `cosign verify` accepts as the image's signature.
func signStatement(d v1.Hash) ([]byte, error) {
	return imageStatement(d, SignPredicateType, json.RawMessage(`{}`))
}

// provenanceStatement restates the release's provenance (the verified payload of
// provenance.sigstore.json, whose subjects are the release files) for the image index d:
// the same SLSA predicate, the index as subject.
func provenanceStatement(release []byte, d v1.Hash) ([]byte, error) {
	var st statement
	if err := json.Unmarshal(release, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if st.Type != statementType || st.PredicateType != SLSAPredicateType {
		return nil, fmt.Errorf("%w: want an in-toto v1 statement of %s, got %q of %q", ErrStatement, SLSAPredicateType, st.Type, st.PredicateType)
	}
	var pred map[string]json.RawMessage
	if err := json.Unmarshal(st.Predicate, &pred); err != nil || pred == nil {
		return nil, fmt.Errorf("%w: predicate is not a JSON object", ErrStatement)
	}
	return imageStatement(d, SLSAPredicateType, st.Predicate)
}
