package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// Wire constants of the statements this stage writes and the gate accepts.
const (
	// PredicateType is SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance).
	PredicateType = "https://slsa.dev/provenance/v1"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// MaxSubjects is sigstore-go's limit on subjects per statement; larger releases are
	// sharded into several statements.
	MaxSubjects = 1024
)

// Statement is one serialized in-toto statement and the bundle file its signed form goes to.
type Statement struct {
	File     string // bundle path: provenance.sigstore.json, provenance-2.sigstore.json, ...
	JSON     []byte // the in-toto v1 Statement, protojson, compact
	Subjects int    // how many subjects it names
}

// SubjectName is the name a statement gives an artifact: its path relative to the bundle
// root (artifacts/NAME), which is also its key in the manifest. Using the manifest's own key
// keeps the gate's check a plain map lookup and cannot make two artifacts share a name, as
// stripping the artifacts/ prefix could. Stock verifiers (cosign, sigstore-go) match
// subjects by digest only, so the name does not get in the way of checking a downloaded file.
func SubjectName(a artifact.Artifact) string { return a.Path }

// ShardFile names the bundle file of statement i (0-based): provenance.sigstore.json for the
// first, provenance-N.sigstore.json (N = i+1) for the others.
func ShardFile(i int) string {
	if i == 0 {
		return bundle.ProvenanceFile
	}
	return fmt.Sprintf(bundle.ProvenanceShard, i+1)
}

// Build makes the release's provenance: one in-toto v1 Statement per MaxSubjects subjects,
// sorted by name, each with the same SLSA Provenance v1 predicate. The output is
// deterministic: the same input gives the same bytes.
func Build(in *Input) ([]Statement, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	pred, err := predicate(in)
	if err != nil {
		return nil, fmt.Errorf("attest: predicate: %w", err)
	}
	subjects := subjectsOf(in.Artifacts)
	var out []Statement
	for i := 0; i*MaxSubjects < len(subjects); i++ {
		chunk := subjects[i*MaxSubjects : min((i+1)*MaxSubjects, len(subjects))]
		st := &intoto.Statement{
			Type:          intoto.StatementTypeUri,
			Subject:       chunk,
			PredicateType: PredicateType,
			Predicate:     pred,
		}
		if err := st.Validate(); err != nil {
			return nil, fmt.Errorf("attest: statement %d: %w", i+1, err)
		}
		data, err := Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("attest: statement %d: %w", i+1, err)
		}
		out = append(out, Statement{File: ShardFile(i), JSON: data, Subjects: len(chunk)})
	}
	return out, nil
}

// Marshal serializes a protobuf message the way in-toto statements must be: protojson, which
// knows the JSON names (`_type`, `predicateType`) and how a structpb.Struct predicate is
// written; encoding/json knows neither. protojson deliberately varies its whitespace between
// builds, so the result is compacted to make the bytes reproducible.
func Marshal(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func subjectsOf(l artifact.List) []*intoto.ResourceDescriptor {
	subj := append(artifact.List(nil), l.Subjects()...)
	subj.Sort()
	out := make([]*intoto.ResourceDescriptor, len(subj))
	for i, a := range subj {
		out[i] = &intoto.ResourceDescriptor{Name: SubjectName(a), Digest: digestSet(a.Digest)}
	}
	return out
}

func digestSet(d artifact.Digests) map[string]string {
	m := map[string]string{"sha256": d.SHA256}
	if d.SHA512 != "" {
		m["sha512"] = d.SHA512
	}
	return m
}

// predicate builds the SLSA Provenance v1 predicate as a structpb.Struct, the statement's
// predicate field type, going through the typed provenance message so that its Validate runs.
func predicate(in *Input) (*structpb.Struct, error) {
	ext, err := structpb.NewStruct(externalParameters(in))
	if err != nil {
		return nil, err
	}
	def := &provenance.BuildDefinition{
		BuildType:            in.buildType(),
		ExternalParameters:   ext,
		ResolvedDependencies: resolvedDependencies(in),
	}
	if len(in.Internal) > 0 {
		internal := map[string]any{}
		for k, v := range in.Internal {
			internal[k] = v
		}
		if def.InternalParameters, err = structpb.NewStruct(internal); err != nil {
			return nil, err
		}
	}
	prov := &provenance.Provenance{
		BuildDefinition: def,
		RunDetails: &provenance.RunDetails{
			Builder: &provenance.Builder{Id: in.Builder.ID, Version: in.Builder.Version},
			Metadata: &provenance.BuildMetadata{
				InvocationId: in.InvocationID,
				StartedOn:    timestamppb.New(in.StartedOn.UTC()),
				FinishedOn:   timestamppb.New(in.FinishedOn.UTC()),
			},
		},
	}
	if err := prov.Validate(); err != nil {
		return nil, err
	}
	raw, err := protojson.Marshal(prov)
	if err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, pred); err != nil {
		return nil, err
	}
	return pred, nil
}

// externalParameters are the inputs a consumer should check against its expectations: where
// the source came from and what was asked to be built.
func externalParameters(in *Input) map[string]any {
	src := map[string]any{"commit": in.Source.Commit}
	if in.Source.Repository != "" {
		src["repository"] = in.Source.Repository
	}
	if in.Source.Ref != "" {
		src["ref"] = in.Source.Ref
	}
	platforms := append([]string(nil), in.Platforms...)
	sort.Strings(platforms)
	list := make([]any, len(platforms))
	for i, p := range platforms {
		list[i] = p
	}
	return map[string]any{"source": src, "version": in.Version, "platforms": list}
}

// resolvedDependencies pin everything the build consumed: the source (by commit, and by tree
// digest when known), the toolchain, the base images and the frozen dependency set. Without
// a repository the source descriptors have no URI: a digest alone is a valid descriptor.
func resolvedDependencies(in *Input) []*intoto.ResourceDescriptor {
	srcURI := ""
	if in.Source.Repository != "" {
		srcURI = "git+" + in.Source.Repository
		if in.Source.Ref != "" {
			srcURI += "@" + in.Source.Ref
		}
	}
	deps := []*intoto.ResourceDescriptor{{
		Name:   "source",
		Uri:    srcURI,
		Digest: map[string]string{"gitCommit": in.Source.Commit},
	}}
	if in.Source.TreeDigest != "" {
		deps = append(deps, &intoto.ResourceDescriptor{
			Name: "source-tree", Uri: in.Source.Repository, Digest: hexDigest(in.Source.TreeDigest),
		})
	}
	if t := in.Toolchain; t != (Toolchain{}) {
		rd := &intoto.ResourceDescriptor{Name: "toolchain", Uri: "pkg:generic/" + t.Name + "@" + t.Version}
		if t.Digest != "" {
			rd.Digest = hexDigest(t.Digest)
		}
		deps = append(deps, rd)
	}
	images := append([]Image(nil), in.BaseImages...)
	sort.Slice(images, func(i, j int) bool {
		if images[i].Name != images[j].Name {
			return images[i].Name < images[j].Name
		}
		return images[i].Digest < images[j].Digest
	})
	for _, im := range images {
		deps = append(deps, &intoto.ResourceDescriptor{Name: "base-image", Uri: im.Name, Digest: hexDigest(im.Digest)})
	}
	if in.Dependencies != "" {
		deps = append(deps, &intoto.ResourceDescriptor{
			Name: "dependencies", Uri: bundle.DepsLockFile, Digest: hexDigest(in.Dependencies),
		})
	}
	return deps
}

// hexDigest turns a validated "sha256:HEX" into an in-toto digest set.
func hexDigest(d string) map[string]string {
	alg, hex, _ := strings.Cut(d, ":")
	return map[string]string{alg: hex}
}
