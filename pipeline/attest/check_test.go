package attest_test

import (
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
)

// edit parses a statement, lets f change it and serializes it again.
func edit(t *testing.T, data []byte, f func(*intoto.Statement)) []byte {
	t.Helper()
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		t.Fatal(err)
	}
	f(st)
	out, err := attest.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setVersion(st *intoto.Statement, v string) {
	def := st.Predicate.Fields["buildDefinition"].GetStructValue()
	def.Fields["externalParameters"].GetStructValue().Fields["version"] = structpb.NewStringValue(v)
}

func TestCheckDetectsTampering(t *testing.T) {
	in := testInput(1030) // two shards
	fresh := build(t, in)
	first := in.Artifacts[0].Path
	cases := []struct {
		name      string
		tamper    func(t *testing.T, s []attest.Signed) []attest.Signed
		manifest  func(l artifact.List) artifact.List
		version   string
		code      string
		subject   string
		substring string
	}{
		{name: "subject digest changed", code: attest.CodeSubjectMismatch, subject: first, substring: "digest sha256: manifest has",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.Subject[0].Digest["sha256"] = strings.Repeat("0", 64) })
				return s
			}},
		{name: "sha512 dropped", code: attest.CodeSubjectMismatch, subject: first, substring: "digest sha512: manifest has",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { delete(st.Subject[0].Digest, "sha512") })
				return s
			}},
		{name: "subject added", code: attest.CodeSubjectExtra, subject: "artifacts/evil.bin", substring: "not an artifact of the manifest",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[1].Statement = edit(t, s[1].Statement, func(st *intoto.Statement) {
					st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: "artifacts/evil.bin", Digest: map[string]string{"sha256": strings.Repeat("1", 64)}})
				})
				return s
			}},
		{name: "subject removed", code: attest.CodeSubjectMissing, subject: first, substring: "not a subject of any provenance statement",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.Subject = st.Subject[1:] })
				return s
			}},
		{name: "shard removed", code: attest.CodeSubjectMissing, subject: in.Artifacts[1029].Path, substring: "not a subject",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed { return s[:1] }},
		{name: "another shard renamed into place", code: attest.CodeSubjectDuplicate, subject: in.Artifacts[1029].Path, substring: "already in provenance.sigstore.json",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = s[1].Statement
				return s
			}},
		{name: "another shard renamed into place leaves subjects unattested", code: attest.CodeSubjectMissing, subject: first, substring: "not a subject",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = s[1].Statement
				return s
			}},
		{name: "subject renamed", code: attest.CodeSubjectExtra, subject: "artifacts/renamed.bin", substring: "not an artifact",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.Subject[0].Name = "artifacts/renamed.bin" })
				return s
			}},
		{name: "subject named twice", code: attest.CodeSubjectDuplicate, subject: first, substring: "already in provenance.sigstore.json",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[1].Statement = edit(t, s[1].Statement, func(st *intoto.Statement) {
					st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: first, Digest: map[string]string{"sha256": strings.Repeat("1", 64)}})
				})
				return s
			}},
		{name: "predicate type swapped", code: attest.CodePredicateType, substring: `want "https://slsa.dev/provenance/v1", got "https://slsa.dev/provenance/v0.2"`,
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.PredicateType = "https://slsa.dev/provenance/v0.2" })
				return s
			}},
		{name: "statement from an older release", code: attest.CodeVersion, version: "v1.2.4", substring: `want "v1.2.4" (the manifest's), got "v1.2.3"`,
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed { return s }},
		{name: "one shard replayed from another version", code: attest.CodeVersion, substring: `got "v1.2.2"`,
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[1].Statement = edit(t, s[1].Statement, func(st *intoto.Statement) { setVersion(st, "v1.2.2") })
				return s
			}},
		{name: "shards disagree", code: attest.CodeShardMismatch, substring: "differs from the one in provenance.sigstore.json",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[1].Statement = edit(t, s[1].Statement, func(st *intoto.Statement) {
					st.Predicate.Fields["buildDefinition"].GetStructValue().Fields["buildType"] = structpb.NewStringValue("https://example.com/other")
				})
				return s
			}},
		{name: "predicate not provenance", code: attest.CodePredicate, substring: "predicate",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.Predicate, _ = structpb.NewStruct(map[string]any{"hello": "world"}) })
				return s
			}},
		{name: "legacy statement type", code: attest.CodeMalformed, substring: "statement type",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = edit(t, s[0].Statement, func(st *intoto.Statement) { st.Type = "https://in-toto.io/Statement/v0.1" })
				return s
			}},
		{name: "duplicate key (readers could disagree)", code: attest.CodeMalformed, substring: "duplicate field",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = append([]byte(`{"predicateType":"https://example.com/x",`), s[0].Statement[1:]...)
				return s
			}},
		{name: "truncated statement", code: attest.CodeMalformed, substring: "not an in-toto statement",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed {
				s[0].Statement = s[0].Statement[:len(s[0].Statement)/2]
				return s
			}},
		{name: "no statements", code: attest.CodeNoStatements, substring: "no provenance statements",
			tamper: func(t *testing.T, s []attest.Signed) []attest.Signed { return nil }},
		{name: "artifact changed after attesting", code: attest.CodeSubjectMismatch, subject: first, substring: "statement has " + in.Artifacts[0].Digest.SHA256,
			tamper:   func(t *testing.T, s []attest.Signed) []attest.Signed { return s },
			manifest: func(l artifact.List) artifact.List { l[0].Digest.SHA256 = strings.Repeat("9", 64); return l }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed := make([]attest.Signed, len(fresh))
			for i, s := range fresh {
				signed[i] = attest.Signed{File: s.File, Statement: append([]byte(nil), s.JSON...)}
			}
			manifest := append(artifact.List(nil), in.Artifacts...)
			if c.manifest != nil {
				manifest = c.manifest(manifest)
			}
			version := in.Version
			if c.version != "" {
				version = c.version
			}
			probs := attest.Check(c.tamper(t, signed), manifest, version)
			found := false
			for _, p := range probs {
				if p.Code == c.code && (c.subject == "" || p.Subject == c.subject) && strings.Contains(p.String(), c.substring) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a %s problem naming %q containing %q, got %v", c.code, c.subject, c.substring, probs)
			}
		})
	}
}

func TestCheckNamesTheFile(t *testing.T) {
	in := testInput(3)
	stmts := build(t, in)
	bad := edit(t, stmts[0].JSON, func(st *intoto.Statement) { st.Subject[2].Digest["sha256"] = strings.Repeat("e", 64) })
	probs := attest.Check([]attest.Signed{{File: "provenance.sigstore.json", Statement: bad}}, in.Artifacts, in.Version)
	if len(probs) != 1 {
		t.Fatalf("want exactly one problem, got %v", probs)
	}
	want := "provenance.sigstore.json: " + in.Artifacts[2].Path + ": digest sha256: manifest has " + in.Artifacts[2].Digest.SHA256 + ", statement has " + strings.Repeat("e", 64)
	if got := probs[0].String(); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}

// FuzzCheck feeds arbitrary bytes as a signed statement: Check must report, never panic.
func FuzzCheck(f *testing.F) {
	in := testInput(3)
	stmts, err := attest.Build(in)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(stmts[0].JSON)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[null],"predicate":{"buildDefinition":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		probs := attest.Check([]attest.Signed{{File: "provenance.sigstore.json", Statement: data}}, in.Artifacts, in.Version)
		if string(data) != string(stmts[0].JSON) && len(probs) == 0 {
			// Only a statement equivalent to the real one may pass.
			st := &intoto.Statement{}
			if protojson.Unmarshal(data, st) != nil {
				t.Fatalf("unparseable input passed Check: %q", data)
			}
		}
	})
}
