package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/links/linkstest"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// reliquaryBinary builds the command, so that a stage records the argv of a real process.
func reliquaryBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reliquary")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runProcess runs argv as a process whose argv[0] is argv[0] exactly as given.
func runProcess(t *testing.T, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, stderr.String())
	}
}

// stagedRelease makes a release stage by stage, as the Dagger module does: freeze and build
// as processes leaving records outside the bundle, then digest, sign and attest with them.
type stagedRelease struct {
	dir, prefix               string
	freezeRecord, buildRecord string
	freezeArgv, buildArgv     []string
}

func newStagedRelease(t *testing.T) *stagedRelease {
	t.Helper()
	noPasswordEnv(t)
	bin := reliquaryBinary(t)
	src, cache, work := buildtest.Project(t, "uuidapp"), buildtest.ModCache(t), t.TempDir()
	r := &stagedRelease{dir: filepath.Join(work, "bundle"), prefix: filepath.Join(work, "release"),
		freezeRecord: filepath.Join(work, "records", "freeze.json"), buildRecord: filepath.Join(work, "records", "build.json")}
	os.MkdirAll(filepath.Dir(r.freezeRecord), 0o755)
	lock := filepath.Join(r.dir, bundle.DepsLockFile)
	os.MkdirAll(r.dir, 0o755)
	r.freezeArgv = []string{bin, "freeze", src, "--mod-cache", cache, "--out", lock, "--record", r.freezeRecord}
	runProcess(t, r.freezeArgv...)
	r.buildArgv = []string{bin, "build", src, "--version", "v0.1.0", "--commit", testCommit, "--platforms", "linux/amd64",
		"--out", r.dir, "--mod-cache", cache, "--lock", lock, "--source-date-epoch", "1700000000", "--record", r.buildRecord}
	runProcess(t, r.buildArgv...)
	for _, s := range [][]string{
		{"keygen", "--no-password", r.prefix},
		{"digest", r.dir, "--version", "v0.1.0", "--project", "uuidapp", "--source-repo", "https://github.com/example/uuidapp", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", r.dir, "--key", r.prefix + ".key"},
		{"attest", r.dir, "--key", r.prefix + ".key", "--time", "2026-03-01T12:00:00Z", "--stage-record", r.freezeRecord, "--stage-record", r.buildRecord},
	} {
		if code, _, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s, code, stderr)
		}
	}
	return r
}

// linkCommand reads the command of a step's link in the bundle.
func linkCommand(t *testing.T, dir, step string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, bundle.LinksDir, step+".*.link"))
	if len(files) != 1 {
		t.Fatalf("want one %s link, got %v", step, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var mb struct {
		Signed struct{ Command []string } `json:"signed"`
	}
	if err := json.Unmarshal(data, &mb); err != nil {
		t.Fatal(err)
	}
	return mb.Signed.Command
}

func TestStageByStageRelease(t *testing.T) {
	r := newStagedRelease(t)
	if code, out, stderr := cli(t, "verify", r.dir, "--key", r.prefix+".pub"); code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Fatalf("verify of a stage-by-stage release: exit %d\n%s\n%s", code, out, stderr)
	}
	// The gate's link check went through freeze and build, not only the steps attest saw.
	pub, err := keys.LoadPublic(r.prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	res, err := links.Verify(r.dir, []*keys.PublicKey{pub})
	if err != nil || strings.Join(res.Steps, ",") != "freeze,build,digest,sign,attest" {
		t.Fatalf("links.Verify = %+v, %v", res, err)
	}
	for step, argv := range map[string][]string{"freeze": r.freezeArgv, "build": r.buildArgv} {
		if got := linkCommand(t, r.dir, step); !reflect.DeepEqual(got, argv) {
			t.Errorf("%s link command = %q, want the argv that ran, %q", step, got, argv)
		}
	}
	t.Run("artifact changed after build", func(t *testing.T) { testChangedAfterBuild(t, r) })
	t.Run("records refused", func(t *testing.T) { testRecordsRefused(t, r) })
	t.Run("stock in-toto", func(t *testing.T) {
		if out, err := linkstest.StockVerify(t, linkstest.StockInToto(t), r.dir, r.prefix+".pub"); err != nil {
			t.Fatalf("stock in-toto rejected the stage-by-stage release: %v\n%s", err, out)
		}
	})
}

// copyBundle copies the release's bundle, for a test that changes it.
func (r *stagedRelease) copyBundle(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := buildtest.CopyTree(r.dir, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testChangedAfterBuild swaps an artifact after the build and re-digests and re-signs, so the
// manifest and its signature agree with the swapped file: only the build link knows better.
func testChangedAfterBuild(t *testing.T, r *stagedRelease) {
	dir := r.copyBundle(t)
	const victim = "artifacts/uuidapp_v0.1.0_linux_amd64.tar.gz"
	if err := os.WriteFile(filepath.Join(dir, victim), []byte("not what was built"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]string{
		{"digest", dir, "--version", "v0.1.0", "--project", "uuidapp", "--source-repo", "https://github.com/example/uuidapp", "--source-commit", testCommit, "--expect", "provenance,links"},
		{"sign", dir, "--key", r.prefix + ".key"},
	} {
		if code, _, stderr := cli(t, s...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s, code, stderr)
		}
	}
	code, out, _ := cli(t, "verify", dir, "--key", r.prefix+".pub", "--json")
	var report struct {
		Findings []struct{ Check, Status, Message string }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != exitFailed {
		t.Fatalf("verify: exit %d (%v)\n%s", code, err, out)
	}
	linksFailed := false
	for _, f := range report.Findings {
		if f.Check == "links" && f.Status == "fail" && strings.Contains(f.Message, victim) {
			linksFailed = true
		}
	}
	if !linksFailed {
		t.Fatalf("the link check did not name %s:\n%s", victim, out)
	}
	// Attesting again with the honest records is refused before anything is written.
	before, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	code, _, stderr := cli(t, "attest", dir, "--key", r.prefix+".key", "--time", "2026-03-01T12:00:00Z", "--stage-record", r.freezeRecord, "--stage-record", r.buildRecord)
	swapped := digest.Bytes([]byte("not what was built"))
	if code != exitUsage || !strings.Contains(stderr, victim) || !strings.Contains(stderr, "the bundle's file is sha256:"+swapped) {
		t.Fatalf("attest over a changed artifact: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile)); !bytes.Equal(before, after) {
		t.Error("a refused attest rewrote the provenance")
	}
}

// testRecordsRefused hands attest forged, misplaced and incomplete records.
func testRecordsRefused(t *testing.T, r *stagedRelease) {
	build, err := trail.ReadRecord(r.buildRecord)
	if err != nil {
		t.Fatal(err)
	}
	records := t.TempDir()
	write := func(name string, rec trail.Record) string {
		p := filepath.Join(records, name)
		if err := trail.WriteRecord(p, rec); err != nil {
			t.Fatal(err)
		}
		return p
	}
	forged := build
	forged.Outputs = append([]trail.File(nil), build.Outputs...)
	forged.Outputs[0].SHA256 = strings.Repeat("f", 64)
	forgedFile := write("forged.json", forged)
	bench := build
	bench.Stage = "bench"
	benchFile := write("bench.json", bench)
	raw, err := os.ReadFile(r.freezeRecord)
	if err != nil {
		t.Fatal(err)
	}
	const inBundle = "BUNDLE/freeze.json" // a copy of the freeze record inside the bundle
	cases := []struct {
		name    string
		records []string
		want    []string
	}{
		{"forged output digest", []string{r.freezeRecord, forgedFile}, []string{forged.Outputs[0].Path, "sha256:" + strings.Repeat("f", 64), "sha256:" + build.Outputs[0].SHA256, "forged.json"}},
		{"unknown stage", []string{r.freezeRecord, benchFile}, []string{"bench.json", `stage "bench"`}},
		{"build without freeze", []string{r.buildRecord}, []string{"no freeze record"}},
		{"twice", []string{r.freezeRecord, r.buildRecord, r.buildRecord}, []string{"two build records"}},
		{"inside the bundle", []string{inBundle, r.buildRecord}, []string{"freeze.json is inside the bundle"}},
		{"not a record", []string{r.freezeRecord, r.prefix + ".pub"}, []string{"release.pub", "stage record"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := r.copyBundle(t)
			args := []string{"attest", dir, "--key", r.prefix + ".key", "--time", "2026-03-01T12:00:00Z"}
			for _, f := range c.records {
				if f == inBundle {
					f = filepath.Join(dir, filepath.Base(inBundle))
					os.WriteFile(f, raw, 0o644)
				}
				args = append(args, "--stage-record", f)
			}
			code, _, stderr := cli(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestRecordFlagsRefused(t *testing.T) {
	src := buildtest.Project(t, "uuidapp")
	out := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"build record without --lock", []string{"build", src, "--version", "v1", "--out", out, "--record", filepath.Join(t.TempDir(), "b.json")}, "--record needs --lock"},
		{"build record inside --out", []string{"build", src, "--version", "v1", "--out", out, "--record", filepath.Join(out, "b.json"), "--lock", "LOCK"}, "inside the bundle"},
		{"freeze record over the lock", []string{"freeze", src, "--out", filepath.Join(out, "l.json"), "--record", filepath.Join(out, "l.json")}, "same file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, _, stderr := cli(t, c.args...); code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
			if entries, _ := os.ReadDir(filepath.Join(out, "artifacts")); len(entries) > 0 {
				t.Fatalf("a refused build built: %v", entries)
			}
		})
	}
}
