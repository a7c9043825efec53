package promote_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/promote"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/version"
)

func TestFinalPath(t *testing.T) {
	rc, final := version.MustParse("v1.0.0-rc.1"), version.MustParse("v1.0.0")
	for in, want := range map[string]string{
		"artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz":  "artifacts/app_v1.0.0_linux_amd64.tar.gz",
		"artifacts/app_v1.0.0-rc.1_windows_amd64.zip":   "artifacts/app_v1.0.0_windows_amd64.zip",
		"artifacts/app_v1.0.0-rc.1.oci.tar":             "artifacts/app_v1.0.0.oci.tar",
		"artifacts/app_v1.0.0-rc.1_docs.tar.gz":         "artifacts/app_v1.0.0_docs.tar.gz",
		"artifacts/app-1.0.0-rc.1-linux-amd64.tar.gz":   "artifacts/app-1.0.0-linux-amd64.tar.gz",
		"artifacts/app_v1.0.0-rc.10_linux_amd64.tar.gz": "artifacts/app_v1.0.0-rc.10_linux_amd64.tar.gz", // rc.1 is not rc.10
		"artifacts/app_v1.0.0-rc.1.5.tar.gz":            "artifacts/app_v1.0.0-rc.1.5.tar.gz",
		"artifacts/appv1.0.0-rc.1.tar.gz":               "artifacts/appv1.0.0-rc.1.tar.gz",         // not a whole version
		"artifacts/v1.0.0-rc.1/app_v1.0.0-rc.1.tar.gz":  "artifacts/v1.0.0-rc.1/app_v1.0.0.tar.gz", // directories are kept
		"deps.lock.json": "deps.lock.json",
		"artifacts/app_v1.0.0-rc.1_x_v1.0.0-rc.1.txt": "artifacts/app_v1.0.0_x_v1.0.0.txt",
	} {
		if got := promote.FinalPath(in, rc, final); got != want {
			t.Errorf("FinalPath(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSameDigests(t *testing.T) {
	a := func(p, sum string) artifact.Artifact {
		return artifact.Artifact{Path: p, Kind: artifact.KindArchive, Size: 3, Digest: artifact.Digests{SHA256: strings.Repeat(sum, 64)}}
	}
	rc := artifact.List{a("artifacts/x_v1.0.0-rc.1.tar.gz", "a"), a("deps.lock.json", "b")}
	renamed := map[string]string{"artifacts/x_v1.0.0-rc.1.tar.gz": "artifacts/x_v1.0.0.tar.gz", "deps.lock.json": "deps.lock.json"}
	ok := artifact.List{a("artifacts/x_v1.0.0.tar.gz", "a"), a("deps.lock.json", "b")}
	if err := promote.SameDigests(rc, ok, renamed); err != nil {
		t.Fatal(err)
	}
	for name, final := range map[string]artifact.List{
		"changed bytes": {a("artifacts/x_v1.0.0.tar.gz", "c"), a("deps.lock.json", "b")},
		"missing":       {a("deps.lock.json", "b")},
		"extra":         {a("artifacts/x_v1.0.0.tar.gz", "a"), a("deps.lock.json", "b"), a("artifacts/more", "d")},
		"not renamed":   {a("artifacts/x_v1.0.0-rc.1.tar.gz", "a"), a("deps.lock.json", "b")},
	} {
		if err := promote.SameDigests(rc, final, renamed); !errors.Is(err, release.ErrGate) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
