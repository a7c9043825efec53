package vsa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/vsa"
)

func input(passed bool, n int) vsa.Input {
	in := vsa.Input{
		VerifierID: "https://reliquary.dev/verifier/cli", Time: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		ManifestSHA256: strings.Repeat("ab", 32), Passed: passed, VerifiedLevels: []string{"SLSA_BUILD_LEVEL_1"},
		Inputs: []vsa.Attestation{{URI: "provenance.sigstore.json", SHA256: strings.Repeat("cd", 32)}},
	}
	for i := range n {
		in.Artifacts = append(in.Artifacts, artifact.Artifact{Path: "artifacts/a" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Kind: artifact.KindArchive, Digest: artifact.Digests{SHA256: strings.Repeat("ef", 32)}})
	}
	return in
}

func TestRoundTrip(t *testing.T) {
	for _, passed := range []bool{true, false} {
		st, err := vsa.Statement(input(passed, 3))
		if err != nil {
			t.Fatal(err)
		}
		s, err := vsa.Parse(st)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "PASSED", false: "FAILED"}[passed]
		if s.Result != want || s.ManifestSHA256 != strings.Repeat("ab", 32) || !s.TimeVerified.Equal(input(true, 0).Time) {
			t.Fatalf("parsed %+v", s)
		}
		if !strings.Contains(string(st), `"predicateType":"https://slsa.dev/verification_summary/v1"`) || !strings.Contains(string(st), "artifacts/aa") {
			t.Fatalf("statement lacks predicate type or subjects: %s", st)
		}
	}
}

func TestLargeReleaseSummarisedByManifest(t *testing.T) {
	st, err := vsa.Statement(input(true, 1100))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(st), "artifacts/") {
		t.Fatal("over 1024 subjects, the summary should name only manifest.json")
	}
}

func TestParseRejects(t *testing.T) {
	st, _ := vsa.Statement(input(true, 1))
	for name, bad := range map[string]string{
		"other predicate": strings.Replace(string(st), "verification_summary/v1", "provenance/v1", 1),
		"no manifest":     strings.Replace(string(st), `"name":"manifest.json"`, `"name":"other.json"`, 1),
		"garbage":         "{",
	} {
		if _, err := vsa.Parse([]byte(bad)); !errors.Is(err, vsa.ErrSummary) {
			t.Errorf("%s: Parse = %v, want ErrSummary", name, err)
		}
	}
	if _, err := vsa.Statement(vsa.Input{}); err == nil {
		t.Error("Statement accepted an empty input")
	}
}

func FuzzParse(f *testing.F) {
	st, _ := vsa.Statement(input(true, 2))
	f.Add(st)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		_, _ = vsa.Parse(data)
	})
}
