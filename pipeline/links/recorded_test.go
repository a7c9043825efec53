package links_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/trail"
)

var testTree = "sha256:" + strings.Repeat("e", 64)

// stagedBundle is a bundle made stage by stage: freeze wrote deps.lock.json, build the
// artifacts, and each left a record as `reliquary freeze/build --record` do.
func stagedBundle(t *testing.T) (string, *bundle.Manifest, []trail.Record) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, bundle.DepsLockFile, `{"schema":"stand-in lock"}`)
	var built artifact.List
	for i := range 2 {
		p := fmt.Sprintf("artifacts/tool_%d_linux_amd64.tar.gz", i)
		writeFile(t, dir, p, fmt.Sprintf("artifact %d", i))
		built = append(built, artifact.Artifact{Path: p, Digest: artifact.Digests{SHA256: trail.FilesOf(dir, p)[0].SHA256}})
	}
	lock := &freeze.Lock{Files: freeze.Files{GoMod: "sha256:" + strings.Repeat("1", 64), GoSum: "sha256:" + strings.Repeat("2", 64)}}
	lockFile := dir + "/" + bundle.DepsLockFile
	recs := []trail.Record{
		trail.Finished("freeze", releaseTime, releaseTime, trail.FreezeStep([]string{"/bin/reliquary", "freeze", "/src"}, lock, lockFile)),
		trail.Finished("build", releaseTime, releaseTime, trail.BuildStep([]string{"/bin/reliquary", "build", "/src", "--version", "v1.0.0"}, testTree, lockFile, built,
			map[string]string{"binary-cache": "linux/amd64 tool"})),
	}
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "tool", Version: "v1.0.0",
		Source: bundle.Source{Repository: "https://example.com/tool", Commit: strings.Repeat("a", 40), TreeDigest: testTree}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, bundle.ProvenanceFile, `{"stand-in":"provenance"}`)
	return dir, out.Manifest, recs
}

func TestRecordedStagesChain(t *testing.T) {
	k := newKey(t)
	dir, m, recs := stagedBundle(t)
	if err := links.CheckRecorded(dir, m, recs); err != nil {
		t.Fatal(err)
	}
	// The order of the records does not matter: the layout's order is the pipeline's.
	steps, recorded, err := links.Recorded([]trail.Record{recs[1], recs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 2 || recorded[0].Step != "freeze" || strings.Join(recorded[1].Command, " ") != "/bin/reliquary build /src --version v1.0.0" ||
		recorded[1].Materials[trail.SourceTree] != strings.TrimPrefix(testTree, "sha256:") || recorded[0].Products[bundle.DepsLockFile] == "" ||
		recorded[1].Byproducts["binary-cache"] != "linux/amd64 tool" {
		t.Fatalf("links = %+v", recorded)
	}
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), links.Preceded(steps, recorded))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := links.Write(dir, set, k.priv); err != nil {
		t.Fatal(err)
	}
	res, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()})
	if err != nil || strings.Join(res.Steps, ",") != "freeze,build,digest,attest" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	// Then the stock verifier (skipped when it is not installed) accepts the same bundle.
	if out, err := stockVerify(t, stockInToto(t), dir, k.pubFile); err != nil {
		t.Fatalf("stock in-toto rejected a stage-by-stage bundle: %v\n%s", err, out)
	}
}

func TestRecordedRefuses(t *testing.T) {
	_, _, recs := stagedBundle(t)
	freezeRec, buildRec := recs[0], recs[1]
	failed := buildRec
	failed.Status = "failed"
	other := buildRec
	other.Stage = "deploy"
	cases := []struct {
		name string
		recs []trail.Record
		want string
	}{
		{"unknown stage", []trail.Record{freezeRec, buildRec, other}, `stage "deploy"`},
		{"twice", []trail.Record{freezeRec, buildRec, freezeRec}, "two freeze records"},
		{"build without freeze", []trail.Record{buildRec}, "no freeze record"},
		{"freeze without build", []trail.Record{freezeRec}, "no build record"},
		{"failed stage", []trail.Record{freezeRec, failed}, `status "failed"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := links.Recorded(c.recs); !errors.Is(err, links.ErrLink) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Recorded = %v, want %q", err, c.want)
			}
		})
	}
	if steps, got, err := links.Recorded(nil); err != nil || steps != nil || got != nil {
		t.Fatalf("no records: %v %v %v, want nothing", steps, got, err)
	}
}

func TestCheckRecordedRefuses(t *testing.T) {
	const victim = "artifacts/tool_1_linux_amd64.tar.gz"
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, recs []trail.Record)
		want   []string
	}{
		{"forged output digest", func(t *testing.T, _ string, recs []trail.Record) {
			recs[1].Outputs[1].SHA256 = strings.Repeat("f", 64)
		}, []string{victim, "sha256:" + strings.Repeat("f", 64), "the build record says"}},
		{"artifact changed after build", func(t *testing.T, dir string, _ []trail.Record) {
			writeFile(t, dir, victim, "evil")
		}, []string{victim, "the bundle's file is sha256:" + digest.Bytes([]byte("evil"))}},
		{"lock changed after freeze", func(t *testing.T, dir string, _ []trail.Record) {
			writeFile(t, dir, bundle.DepsLockFile, "{}")
		}, []string{bundle.DepsLockFile, "the freeze record says"}},
		{"output missing", func(t *testing.T, _ string, recs []trail.Record) {
			recs[1].Outputs = append(recs[1].Outputs, trail.File{Path: "artifacts/ghost", SHA256: strings.Repeat("0", 64)})
		}, []string{"artifacts/ghost"}},
		{"artifact no record made", func(t *testing.T, _ string, recs []trail.Record) {
			recs[1].Outputs = recs[1].Outputs[:1]
		}, []string{victim, "no stage record lists it"}},
		{"another source tree", func(t *testing.T, _ string, recs []trail.Record) {
			recs[1].Inputs[0].SHA256 = strings.Repeat("9", 64)
		}, []string{trail.SourceTree, "the manifest's source tree is " + testTree}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, m, recs := stagedBundle(t)
			c.tamper(t, dir, recs)
			err := links.CheckRecorded(dir, m, recs)
			if !errors.Is(err, links.ErrLink) {
				t.Fatalf("CheckRecorded = %v, want an ErrLink", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
