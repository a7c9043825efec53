package attest_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
)

// syntheticArtifacts makes n tiny artifacts whose digests are those of their names, with a
// SHA-512 on every other one so that both digest-set shapes are exercised.
func syntheticArtifacts(n int) artifact.List {
	l := make(artifact.List, n)
	for i := range l {
		p := fmt.Sprintf("artifacts/file-%05d.bin", i)
		s256 := sha256.Sum256([]byte(p))
		a := artifact.Artifact{Path: p, Kind: artifact.KindFile, MediaType: "application/octet-stream",
			Size: int64(len(p)), Digest: artifact.Digests{SHA256: hex.EncodeToString(s256[:])}}
		if i%2 == 0 {
			s512 := sha512.Sum512([]byte(p))
			a.Digest.SHA512 = hex.EncodeToString(s512[:])
		}
		l[i] = a
	}
	return l
}

func testInput(n int) *attest.Input {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &attest.Input{
		Version:      "v1.2.3",
		Source:       attest.Source{Repository: "https://github.com/sentientos/reliquary", Ref: "refs/tags/v1.2.3", Commit: strings.Repeat("ab", 20), TreeDigest: "sha256:" + strings.Repeat("cd", 32)},
		Platforms:    []string{"linux/arm64", "linux/amd64"},
		Toolchain:    attest.Toolchain{Name: "go", Version: "go1.26.1"},
		BaseImages:   []attest.Image{{Name: "docker.io/library/golang:1.26.1", Digest: "sha256:" + strings.Repeat("ef", 32)}},
		Dependencies: "sha256:" + strings.Repeat("01", 32),
		Internal:     map[string]string{"CGO_ENABLED": "0", "SOURCE_DATE_EPOCH": "1772366400"},
		Builder:      attest.Builder{ID: attest.BuilderHost, Version: map[string]string{"reliquary": "v0.1.0"}},
		InvocationID: "run-42",
		StartedOn:    start,
		FinishedOn:   start.Add(90 * time.Second),
		Artifacts:    syntheticArtifacts(n),
	}
}

func build(t testing.TB, in *attest.Input) []attest.Statement {
	t.Helper()
	stmts, err := attest.Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return stmts
}

func TestBuildRoundTrip(t *testing.T) {
	in := testInput(5)
	in.Artifacts = append(in.Artifacts, artifact.Artifact{Path: "deps.lock.json", Kind: artifact.KindMetadata,
		MediaType: "application/json", Digest: artifact.Digests{SHA256: strings.Repeat("0", 64)}})
	stmts := build(t, in)
	if len(stmts) != 1 || stmts[0].File != "provenance.sigstore.json" || stmts[0].Subjects != 5 {
		t.Fatalf("want one statement of 5 subjects in provenance.sigstore.json, got %+v", stmts)
	}
	// The wire names must be the in-toto ones, which encoding/json would not produce.
	var generic map[string]any
	if err := json.Unmarshal(stmts[0].JSON, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"_type", "subject", "predicateType", "predicate"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("statement lacks key %q: %s", k, stmts[0].JSON)
		}
	}

	st := &intoto.Statement{}
	if err := protojson.Unmarshal(stmts[0].JSON, st); err != nil {
		t.Fatalf("statement does not parse back: %v", err)
	}
	if st.GetType() != intoto.StatementTypeUri || st.GetPredicateType() != attest.PredicateType {
		t.Errorf("type %q predicateType %q", st.GetType(), st.GetPredicateType())
	}
	for i, s := range st.GetSubject() {
		a := in.Artifacts[i]
		if s.GetName() != a.Path || s.GetDigest()["sha256"] != a.Digest.SHA256 || s.GetDigest()["sha512"] != a.Digest.SHA512 {
			t.Errorf("subject %d = %v, want %s %s %s", i, s, a.Path, a.Digest.SHA256, a.Digest.SHA512)
		}
		if want := 1 + btoi(a.Digest.SHA512 != ""); len(s.GetDigest()) != want {
			t.Errorf("subject %s has %d digests, want %d", s.GetName(), len(s.GetDigest()), want)
		}
	}

	raw, _ := protojson.Marshal(st.GetPredicate())
	prov := &provenance.Provenance{}
	if err := protojson.Unmarshal(raw, prov); err != nil {
		t.Fatalf("predicate is not SLSA Provenance v1: %v", err)
	}
	if err := prov.Validate(); err != nil {
		t.Fatal(err)
	}
	def, run := prov.GetBuildDefinition(), prov.GetRunDetails()
	ext := def.GetExternalParameters().AsMap()
	src := ext["source"].(map[string]any)
	checks := map[string][2]any{
		"buildType":      {def.GetBuildType(), attest.BuildTypeGo},
		"version":        {ext["version"], "v1.2.3"},
		"platforms":      {fmt.Sprint(ext["platforms"]), "[linux/amd64 linux/arm64]"},
		"source.repo":    {src["repository"], in.Source.Repository},
		"source.ref":     {src["ref"], in.Source.Ref},
		"source.commit":  {src["commit"], in.Source.Commit},
		"internal":       {def.GetInternalParameters().AsMap()["CGO_ENABLED"], "0"},
		"builder.id":     {run.GetBuilder().GetId(), attest.BuilderHost},
		"builder.ver":    {run.GetBuilder().GetVersion()["reliquary"], "v0.1.0"},
		"invocation":     {run.GetMetadata().GetInvocationId(), "run-42"},
		"startedOn":      {run.GetMetadata().GetStartedOn().AsTime(), in.StartedOn},
		"finishedOn":     {run.GetMetadata().GetFinishedOn().AsTime(), in.FinishedOn},
		"resolved count": {len(def.GetResolvedDependencies()), 5},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	deps := map[string]map[string]string{}
	for _, rd := range def.GetResolvedDependencies() {
		deps[rd.GetName()+" "+rd.GetUri()] = rd.GetDigest()
	}
	wantDeps := map[string]string{
		"source git+https://github.com/sentientos/reliquary@refs/tags/v1.2.3": "gitCommit=" + in.Source.Commit,
		"source-tree https://github.com/sentientos/reliquary":                 "sha256=" + strings.Repeat("cd", 32),
		"toolchain pkg:generic/go@go1.26.1":                                   "",
		"base-image docker.io/library/golang:1.26.1":                          "sha256=" + strings.Repeat("ef", 32),
		"dependencies deps.lock.json":                                         "sha256=" + strings.Repeat("01", 32),
	}
	for k, want := range wantDeps {
		got, ok := deps[k]
		if !ok {
			t.Errorf("resolvedDependencies lacks %q (have %v)", k, deps)
			continue
		}
		if want != "" {
			alg, hex, _ := strings.Cut(want, "=")
			if got[alg] != hex {
				t.Errorf("resolvedDependencies[%q] = %v, want %s", k, got, want)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBuildIsDeterministic(t *testing.T) {
	in := testInput(300)
	a := build(t, in)
	shuffled := testInput(300)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled.Artifacts), func(i, j int) {
		shuffled.Artifacts[i], shuffled.Artifacts[j] = shuffled.Artifacts[j], shuffled.Artifacts[i]
	})
	shuffled.Platforms = []string{"linux/amd64", "linux/arm64"}
	b := build(t, shuffled)
	if len(a) != len(b) || !bytes.Equal(a[0].JSON, b[0].JSON) {
		t.Fatalf("same release in another order gave other bytes:\n%s\n%s", a[0].JSON, b[0].JSON)
	}
	if bytes.ContainsAny(a[0].JSON, " \n") {
		t.Errorf("statement is not compact: protojson's random whitespace would make it irreproducible")
	}
}

func TestBuildShardsAt1024(t *testing.T) {
	cases := []struct {
		n     int
		sizes []int
	}{
		{1, []int{1}},
		{1024, []int{1024}},
		{1025, []int{1024, 1}},
		{2500, []int{1024, 1024, 452}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			in := testInput(c.n)
			stmts := build(t, in)
			if len(stmts) != len(c.sizes) {
				t.Fatalf("%d subjects gave %d statements, want %d", c.n, len(stmts), len(c.sizes))
			}
			var signed []attest.Signed
			for i, s := range stmts {
				if s.Subjects != c.sizes[i] || s.File != attest.ShardFile(i) {
					t.Errorf("statement %d: %d subjects in %s, want %d in %s", i, s.Subjects, s.File, c.sizes[i], attest.ShardFile(i))
				}
				st := &intoto.Statement{}
				if err := protojson.Unmarshal(s.JSON, st); err != nil || len(st.GetSubject()) != s.Subjects {
					t.Errorf("statement %d: %v, %d subjects on the wire", i, err, len(st.GetSubject()))
				}
				signed = append(signed, attest.Signed{File: s.File, Statement: s.JSON})
			}
			if probs := attest.Check(signed, in.Artifacts, in.Version); len(probs) != 0 {
				t.Errorf("Check of a fresh release: %v", probs)
			}
		})
	}
	if got := attest.ShardFile(2); got != "provenance-3.sigstore.json" {
		t.Errorf("ShardFile(2) = %q", got)
	}
}

// A source without a published repository is named by commit and tree digest only: no
// repository parameter, source descriptors without a URI, and still valid SLSA provenance.
func TestBuildWithoutRepository(t *testing.T) {
	in := testInput(2)
	in.Source.Repository = ""
	stmts := build(t, in)
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(stmts[0].JSON, st); err != nil {
		t.Fatal(err)
	}
	raw, _ := protojson.Marshal(st.GetPredicate())
	prov := &provenance.Provenance{}
	if err := protojson.Unmarshal(raw, prov); err != nil {
		t.Fatal(err)
	}
	if err := prov.Validate(); err != nil {
		t.Fatalf("provenance without a repository: %v", err)
	}
	src := prov.GetBuildDefinition().GetExternalParameters().AsMap()["source"].(map[string]any)
	if _, ok := src["repository"]; ok || src["commit"] != in.Source.Commit {
		t.Errorf("externalParameters.source = %v", src)
	}
	for _, d := range prov.GetBuildDefinition().GetResolvedDependencies() {
		if strings.HasPrefix(d.GetName(), "source") && (d.GetUri() != "" || len(d.GetDigest()) == 0) {
			t.Errorf("resolved dependency %s: uri %q, digest %v", d.GetName(), d.GetUri(), d.GetDigest())
		}
	}
}

func TestInputValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*attest.Input)
		field string
	}{
		{"no version", func(in *attest.Input) { in.Version = " " }, "version: empty"},
		{"relative repository", func(in *attest.Input) { in.Source.Repository = "github.com/x/y" }, "source.repository"},
		{"short commit", func(in *attest.Input) { in.Source.Commit = "abc123" }, "source.commit"},
		{"upper-case commit", func(in *attest.Input) { in.Source.Commit = strings.Repeat("AB", 20) }, "source.commit"},
		{"bad tree digest", func(in *attest.Input) { in.Source.TreeDigest = "md5:00" }, "source.treeDigest"},
		{"control character in ref", func(in *attest.Input) { in.Source.Ref = "refs/tags/v1\n" }, "source.ref"},
		{"bad platform", func(in *attest.Input) { in.Platforms = []string{"linux"} }, "platforms[0]"},
		{"duplicate platform", func(in *attest.Input) { in.Platforms = []string{"linux/amd64", "linux/amd64"} }, "platforms[1]"},
		{"toolchain without version", func(in *attest.Input) { in.Toolchain.Version = "" }, "toolchain.version"},
		{"toolchain with @", func(in *attest.Input) { in.Toolchain.Version = "1@2" }, "toolchain"},
		{"image by tag", func(in *attest.Input) { in.BaseImages[0].Digest = "latest" }, "baseImages[0].digest"},
		{"image without name", func(in *attest.Input) { in.BaseImages[0].Name = "" }, "baseImages[0].name"},
		{"dependencies not sha256", func(in *attest.Input) { in.Dependencies = strings.Repeat("01", 32) }, "dependencies"},
		{"empty internal key", func(in *attest.Input) { in.Internal = map[string]string{"": "x"} }, "internal key"},
		{"builder id not a URI", func(in *attest.Input) { in.Builder.ID = "laptop" }, "builder.id"},
		{"no invocation", func(in *attest.Input) { in.InvocationID = "" }, "invocationID"},
		{"no start", func(in *attest.Input) { in.StartedOn = time.Time{} }, "startedOn"},
		{"finish before start", func(in *attest.Input) { in.FinishedOn = in.StartedOn.Add(-time.Second) }, "finishedOn"},
		{"no subjects", func(in *attest.Input) { in.Artifacts = nil }, "artifacts"},
		{"duplicate artifact", func(in *attest.Input) { in.Artifacts = append(in.Artifacts, in.Artifacts[0]) }, "duplicate path"},
		{"only metadata", func(in *attest.Input) {
			in.Artifacts = in.Artifacts[:1]
			in.Artifacts[0].Kind = artifact.KindMetadata
		}, "no provenance subjects"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testInput(2)
			c.edit(in)
			err := in.Validate()
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, c.field)
			}
			if _, err := attest.Build(in); err == nil {
				t.Fatal("Build accepted an invalid input")
			}
		})
	}
	minimal := testInput(1)
	minimal.Source.Ref, minimal.Source.TreeDigest, minimal.Platforms = "", "", nil
	minimal.Toolchain, minimal.BaseImages, minimal.Dependencies, minimal.Internal = attest.Toolchain{}, nil, "", nil
	if err := minimal.Validate(); err != nil {
		t.Errorf("optional fields left empty: %v", err)
	}
	if _, err := attest.Build(minimal); err != nil {
		t.Errorf("Build(minimal): %v", err)
	}
}
