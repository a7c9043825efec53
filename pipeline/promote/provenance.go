package promote

import (
	"fmt"
	"strings"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sentientos/reliquary/pipeline/attest"
)

// Internal parameters a promoted release's provenance adds to its candidate's, so the final
// release can be traced to the build that made its bytes.
const (
	ParamPromotedFrom       = "promotedFrom"                 // the candidate's version
	ParamCandidateProvSHA   = "promotedFromProvenanceSha256" // hex sha256 of its provenance.sigstore.json
	ParamCandidateManifest  = "promotedFromManifestSha256"   // hex sha256 of its manifest.json
	ParamStampedVersion     = "stampedVersion"               // the version the binaries carry
	maxCandidateStatementSz = attest.MaxStatementSize
)

// ParseCandidate reads the build parameters of a release candidate from its (verified)
// provenance statement: everything attest.Input holds except the version and the artifacts,
// which promotion replaces. It refuses a statement that is not SLSA Provenance v1.
func ParseCandidate(stmt []byte) (*attest.Input, error) {
	if len(stmt) > maxCandidateStatementSz {
		return nil, fmt.Errorf("provenance statement of %d bytes is over the %d-byte limit", len(stmt), maxCandidateStatementSz)
	}
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(stmt, st); err != nil {
		return nil, fmt.Errorf("not an in-toto statement: %v", err)
	}
	if st.GetPredicateType() != attest.PredicateType {
		return nil, fmt.Errorf("predicate type %q, want %q", st.GetPredicateType(), attest.PredicateType)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, err
	}
	prov := &provenance.Provenance{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, prov); err != nil {
		return nil, fmt.Errorf("not SLSA Provenance v1: %v", err)
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("invalid SLSA Provenance v1: %v", err)
	}
	return candidateInput(prov)
}

func candidateInput(prov *provenance.Provenance) (*attest.Input, error) {
	def, run := prov.GetBuildDefinition(), prov.GetRunDetails()
	ext := def.GetExternalParameters().GetFields()
	src := ext["source"].GetStructValue().GetFields()
	in := &attest.Input{
		BuildType: def.GetBuildType(),
		Source: attest.Source{
			Repository: src["repository"].GetStringValue(),
			Ref:        src["ref"].GetStringValue(),
			Commit:     src["commit"].GetStringValue(),
		},
		Internal:     stringFields(def.GetInternalParameters()),
		Builder:      attest.Builder{ID: run.GetBuilder().GetId(), Version: run.GetBuilder().GetVersion()},
		InvocationID: run.GetMetadata().GetInvocationId(),
		StartedOn:    run.GetMetadata().GetStartedOn().AsTime().UTC(),
		FinishedOn:   run.GetMetadata().GetFinishedOn().AsTime().UTC(),
	}
	for _, p := range ext["platforms"].GetListValue().GetValues() {
		in.Platforms = append(in.Platforms, p.GetStringValue())
	}
	if err := resolved(in, def.GetResolvedDependencies()); err != nil {
		return nil, err
	}
	if in.Source.Commit == "" || in.Builder.ID == "" {
		return nil, fmt.Errorf("the provenance names no source commit or no builder")
	}
	return in, nil
}

// resolved reads back what attest wrote as resolvedDependencies: the source tree, the
// toolchain, the base images and the frozen dependency set.
func resolved(in *attest.Input, deps []*intoto.ResourceDescriptor) error {
	for _, d := range deps {
		sum := d.GetDigest()["sha256"]
		switch d.GetName() {
		case "source-tree":
			in.Source.TreeDigest = prefixed(sum)
		case "toolchain":
			spec, ok := strings.CutPrefix(d.GetUri(), "pkg:generic/")
			name, ver, found := strings.Cut(spec, "@")
			if !ok || !found {
				return fmt.Errorf("toolchain %q: want pkg:generic/NAME@VERSION", d.GetUri())
			}
			in.Toolchain = attest.Toolchain{Name: name, Version: ver, Digest: prefixed(sum)}
		case "base-image":
			in.BaseImages = append(in.BaseImages, attest.Image{Name: d.GetUri(), Digest: prefixed(sum)})
		case "dependencies":
			in.Dependencies = prefixed(sum)
		}
	}
	return nil
}

func prefixed(hex string) string {
	if hex == "" {
		return ""
	}
	return "sha256:" + hex
}

// stringFields keeps the string-valued internal parameters (the only kind attest writes).
func stringFields(s *structpb.Struct) map[string]string {
	out := map[string]string{}
	for k, v := range s.GetFields() {
		if sv, ok := v.GetKind().(*structpb.Value_StringValue); ok {
			out[k] = sv.StringValue
		}
	}
	return out
}
