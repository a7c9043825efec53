package promote_test

import (
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/promote"
)

func sampleStatement(t testing.TB) []byte {
	t.Helper()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	stmts, err := attest.Build(&attest.Input{
		Version:      "v1.0.0-rc.1",
		Source:       attest.Source{Repository: "https://github.com/example/app", Ref: "refs/tags/v1.0.0-rc.1", Commit: "0123456789abcdef0123456789abcdef01234567", TreeDigest: "sha256:" + hex64("a")},
		Platforms:    []string{"linux/amd64"},
		Toolchain:    attest.Toolchain{Name: "go", Version: "go1.26.1"},
		BaseImages:   []attest.Image{{Name: "cgr.dev/chainguard/static", Digest: "sha256:" + hex64("b")}},
		Dependencies: "sha256:" + hex64("c"),
		Internal:     map[string]string{"CGO_ENABLED": "0", "GOPROXY": "off"},
		Builder:      attest.Builder{ID: attest.BuilderHost, Version: map[string]string{"reliquary": "dev"}},
		InvocationID: "reliquary:0123456789ab:v1.0.0-rc.1", StartedOn: at, FinishedOn: at,
		Artifacts: artifact.List{{Path: "artifacts/app.tar.gz", Kind: artifact.KindArchive, MediaType: "application/gzip", Size: 1, Digest: artifact.Digests{SHA256: hex64("d")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return stmts[0].JSON
}

func hex64(c string) string {
	s := ""
	for len(s) < 64 {
		s += c
	}
	return s
}

// The candidate's parameters survive the round trip through a statement.
func TestParseCandidateRoundTrip(t *testing.T) {
	in, err := promote.ParseCandidate(sampleStatement(t))
	if err != nil {
		t.Fatal(err)
	}
	if in.Source.Commit != "0123456789abcdef0123456789abcdef01234567" || in.Source.Ref != "refs/tags/v1.0.0-rc.1" || in.Source.TreeDigest != "sha256:"+hex64("a") ||
		in.Toolchain != (attest.Toolchain{Name: "go", Version: "go1.26.1"}) || len(in.BaseImages) != 1 || in.BaseImages[0].Digest != "sha256:"+hex64("b") ||
		in.Dependencies != "sha256:"+hex64("c") || in.Internal["GOPROXY"] != "off" || in.Builder.ID != attest.BuilderHost ||
		in.Builder.Version["reliquary"] != "dev" || in.InvocationID == "" || in.StartedOn.Year() != 2025 || len(in.Platforms) != 1 {
		t.Fatalf("parsed %+v", in)
	}
	for _, bad := range []string{"", "{}", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/other"}`, "[1,2]"} {
		if _, err := promote.ParseCandidate([]byte(bad)); err == nil {
			t.Errorf("ParseCandidate(%q) accepted", bad)
		}
	}
}

func FuzzParseCandidate(f *testing.F) {
	f.Add(sampleStatement(f))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := promote.ParseCandidate(data)
		if err == nil && (in.Source.Commit == "" || in.Builder.ID == "") {
			t.Fatalf("accepted a statement without commit or builder: %+v", in)
		}
	})
}
