// Package vsa writes and reads the gate's SLSA Verification Summary Attestation
// (https://slsa.dev/spec/v1.0/verification_summary): an in-toto v1 Statement that says which
// release was verified, against which policy and inputs, when, and with what result. Its
// subjects are manifest.json and every provenance subject, so a consumer holding one
// artifact can find it in the summary.
package vsa

import (
	"errors"
	"fmt"
	"time"

	vsapb "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// PredicateType is SLSA's Verification Summary v1.
const PredicateType = "https://slsa.dev/verification_summary/v1"

// PolicyURI names the gate's policy: reliquary's verification rules, version 1.
const PolicyURI = "https://reliquary.dev/policy/verify/v1"

// MaxSubjects keeps a summary within sigstore-go's limit of 1024 subjects per statement;
// larger releases are summarised by manifest.json alone, which binds every artifact.
const MaxSubjects = 1024

// ErrSummary is the root of parsing and checking errors.
var ErrSummary = errors.New("invalid verification summary")

// Input describes one run of the gate.
type Input struct {
	VerifierID     string // e.g. https://reliquary.dev/verifier/cli
	VerifierVer    string
	Time           time.Time
	ResourceURI    string // where the verified release lives, e.g. file:///path/dist or a download URL
	ManifestSHA256 string
	Artifacts      artifact.List
	Passed         bool
	Inputs         []Attestation // the attestations the gate checked
	VerifiedLevels []string
}

// Attestation is one input attestation: a bundle path and its sha256.
type Attestation struct {
	URI    string
	SHA256 string
}

// Statement builds the summary statement, serialized with protojson.
func Statement(in Input) ([]byte, error) {
	if in.VerifierID == "" || len(in.ManifestSHA256) != 64 || in.Time.IsZero() {
		return nil, fmt.Errorf("%w: verifier id, manifest sha256 and time are required", ErrSummary)
	}
	pred, err := predicate(in)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type: intoto.StatementTypeUri, Subject: subjects(in), PredicateType: PredicateType, Predicate: pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	return attest.Marshal(st)
}

func predicate(in Input) (*structpb.Struct, error) {
	result := "FAILED"
	if in.Passed {
		result = "PASSED"
	}
	levels := in.VerifiedLevels
	if !in.Passed {
		levels = []string{"FAILED"}
	}
	var inputs []*vsapb.VerificationSummary_InputAttestation
	for _, a := range in.Inputs {
		inputs = append(inputs, &vsapb.VerificationSummary_InputAttestation{Uri: a.URI, Digest: map[string]string{"sha256": a.SHA256}})
	}
	v := &vsapb.VerificationSummary{
		Verifier:           &vsapb.VerificationSummary_Verifier{Id: in.VerifierID},
		TimeVerified:       timestamppb.New(in.Time.UTC()),
		ResourceUri:        in.ResourceURI,
		Policy:             &vsapb.VerificationSummary_Policy{Uri: PolicyURI},
		InputAttestations:  inputs,
		VerificationResult: result,
		VerifiedLevels:     levels,
		SlsaVersion:        "1.0",
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, err
	}
	return s, nil
}

func subjects(in Input) []*intoto.ResourceDescriptor {
	out := []*intoto.ResourceDescriptor{{Name: bundle.ManifestFile, Digest: map[string]string{"sha256": in.ManifestSHA256}}}
	subj := in.Artifacts.Subjects()
	if len(subj)+1 > MaxSubjects {
		return out
	}
	for _, a := range subj {
		out = append(out, &intoto.ResourceDescriptor{Name: attest.SubjectName(a), Digest: map[string]string{"sha256": a.Digest.SHA256}})
	}
	return out
}

// Summary is what a consumer reads back from a summary statement.
type Summary struct {
	ManifestSHA256 string
	Result         string
	VerifierID     string
	TimeVerified   time.Time
}

// Parse reads a summary statement and checks that it is one.
func Parse(stmt []byte) (*Summary, error) {
	if len(stmt) > attest.MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrSummary, len(stmt), attest.MaxStatementSize)
	}
	var st intoto.Statement
	if err := (protojson.UnmarshalOptions{}).Unmarshal(stmt, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("%w: predicateType %q, want %q", ErrSummary, st.GetPredicateType(), PredicateType)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	var v vsapb.VerificationSummary
	if err := protojson.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrSummary, err)
	}
	s := &Summary{Result: v.GetVerificationResult(), VerifierID: v.GetVerifier().GetId(), TimeVerified: v.GetTimeVerified().AsTime()}
	for _, sub := range st.GetSubject() {
		if sub.GetName() == bundle.ManifestFile {
			s.ManifestSHA256 = sub.GetDigest()["sha256"]
		}
	}
	if s.ManifestSHA256 == "" {
		return nil, fmt.Errorf("%w: no manifest.json subject", ErrSummary)
	}
	return s, nil
}
