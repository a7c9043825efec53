package repro_test

import (
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/repro"
)

var fuzzArtifacts = artifact.List{
	{Path: "artifacts/app_v1.0.0_linux_amd64.tar.gz", Kind: artifact.KindArchive, Size: 3, Digest: artifact.Digests{SHA256: strings.Repeat("a", 64)}},
	{Path: "artifacts/app_v1.0.0.oci.tar", Kind: artifact.KindImage, Size: 3, Digest: artifact.Digests{SHA256: strings.Repeat("b", 64)}},
	{Path: "deps.lock.json", Kind: artifact.KindMetadata, Size: 3, Digest: artifact.Digests{SHA256: strings.Repeat("c", 64)}},
}

// FuzzCheck: Check never panics, and a statement it accepts is bound to the version and to
// every subject's digest: another version, or one digest changed, is refused.
func FuzzCheck(f *testing.F) {
	for _, res := range []repro.Result{
		{Version: "v1.0.0", Reproduced: []string{"artifacts/app_v1.0.0_linux_amd64.tar.gz", "artifacts/app_v1.0.0.oci.tar"}, Method: "rebuilt"},
		{Version: "v1.0.0", Reproduced: []string{"a"}, Differences: []string{"b: differs at byte 3"}},
	} {
		stmt, err := repro.Statement(res, fuzzArtifacts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(stmt, "v1.0.0")
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://reliquary.dev/reproducibility/v1","predicate":{}}`), "")
	f.Add([]byte(`{"predicate":{"version":{"a":[[[[]]]]}}}`), "v1")
	f.Fuzz(func(t *testing.T, stmt []byte, version string) {
		if err := repro.Check(stmt, fuzzArtifacts, version); err != nil {
			return
		}
		if err := repro.Check(stmt, fuzzArtifacts, version+"-other"); err == nil {
			t.Fatalf("accepted for version %q and %q", version, version+"-other")
		}
		changed := append(artifact.List{}, fuzzArtifacts...)
		changed[0].Digest.SHA256 = strings.Repeat("d", 64)
		if err := repro.Check(stmt, changed, version); err == nil {
			t.Fatal("accepted with a subject's digest changed")
		}
	})
}
