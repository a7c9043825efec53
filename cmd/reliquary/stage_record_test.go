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
	"github.com/sentientos/reliquary/pipeline/freeze"
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

// stagedRelease makes a release stage by stage, as the Dagger module does: freeze, build,
// digest, sign and attest as processes, each stage leaving its record outside the bundle,
// attest linking them all.
type stagedRelease struct {
	bin, dir, prefix string
	records          map[string]string   // stage -> its record file
	argv             map[string][]string // stage -> the argv it ran with
}

// stagedStages are the stages of a staged release that leave a record, in order.
var stagedStages = []string{"freeze", "build", "digest", "sign"}

func newStagedRelease(t *testing.T) *stagedRelease {
	t.Helper()
	noPasswordEnv(t)
	bin := reliquaryBinary(t)
	src, cache, work := buildtest.Project(t, "uuidapp"), buildtest.ModCache(t), t.TempDir()
	r := &stagedRelease{bin: bin, dir: filepath.Join(work, "bundle"), prefix: filepath.Join(work, "release"),
		records: map[string]string{}, argv: map[string][]string{}}
	for _, st := range stagedStages {
		r.records[st] = filepath.Join(work, "records", st+".json")
	}
	os.MkdirAll(filepath.Join(work, "records"), 0o755)
	lock := filepath.Join(r.dir, bundle.DepsLockFile)
	os.MkdirAll(r.dir, 0o755)
	if code, _, stderr := cli(t, "keygen", "--no-password", r.prefix); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	r.argv["freeze"] = []string{bin, "freeze", src, "--mod-cache", cache, "--out", lock, "--record", r.records["freeze"], "--image", stagedImage}
	r.argv["build"] = []string{bin, "build", src, "--version", "v0.1.0", "--commit", testCommit, "--platforms", "linux/amd64",
		"--out", r.dir, "--mod-cache", cache, "--lock", lock, "--source-date-epoch", "1700000000", "--record", r.records["build"]}
	r.argv["digest"] = []string{bin, "digest", r.dir, "--version", "v0.1.0", "--project", "uuidapp", "--source-repo", "https://github.com/example/uuidapp",
		"--source-commit", testCommit, "--expect", "provenance,links", "--lock", lock, "--source-tree", src, "--record", r.records["digest"]}
	r.argv["sign"] = []string{bin, "sign", r.dir, "--key", r.prefix + ".key", "--record", r.records["sign"]}
	r.argv["attest"] = append([]string{bin, "attest", r.dir, "--key", r.prefix + ".key", "--time", "2026-03-01T12:00:00Z"}, r.recordFlags(stagedStages...)...)
	for _, st := range append(stagedStages, "attest") {
		runProcess(t, r.argv[st]...)
	}
	return r
}

// recordFlags are the --stage-record flags handing attest the records of stages.
func (r *stagedRelease) recordFlags(stages ...string) []string {
	var out []string
	for _, st := range stages {
		out = append(out, "--stage-record", r.records[st])
	}
	return out
}

// stagedImage is a base image the staged release pins, as the Dagger module pins its own.
const stagedImage = "docker.io/library/golang@sha256:c98c2b3c8869d972134d2da76252e2c0e64a0af0d1ffe54ab7ea270199827cb4"

// provenanceDependencies reads the resolved dependencies of the bundle's provenance, by name.
func provenanceDependencies(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DsseEnvelope struct{ Payload []byte } `json:"dsseEnvelope"`
	}
	var st struct {
		Predicate struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					Name   string
					URI    string `json:"uri"`
					Digest map[string]string
				}
			}
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.DsseEnvelope.Payload, &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
		if d.Name == "base-image" {
			d.Name += " " + d.URI
		}
		out[d.Name] = d.Digest
	}
	return out
}

// stagedLink is the part of a link the staged release's tests read.
type stagedLink struct {
	Command    []string
	Materials  map[string]map[string]string
	Products   map[string]map[string]string
	Byproducts map[string]any
}

// readLink reads a step's link in the bundle.
func readLink(t *testing.T, dir, step string) stagedLink {
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
		Signed stagedLink `json:"signed"`
	}
	if err := json.Unmarshal(data, &mb); err != nil {
		t.Fatal(err)
	}
	return mb.Signed
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
	for _, step := range res.Steps {
		l := readLink(t, r.dir, step)
		if !reflect.DeepEqual(l.Command, r.argv[step]) {
			t.Errorf("%s link command = %q, want the argv that ran, %q", step, l.Command, r.argv[step])
		}
		if len(l.Byproducts) != 0 {
			t.Errorf("%s link: byproducts %v: every stage was recorded as it ran, none after the fact", step, l.Byproducts)
		}
	}
	sign := readLink(t, r.dir, "sign")
	if _, ok := sign.Products["keys/release.pub"]; !ok {
		t.Errorf("sign link products %v: want the public key sign shipped", sign.Products)
	}
	t.Run("provenance names what the build used", func(t *testing.T) { testStagedProvenance(t, r) })
	t.Run("artifact changed after build", func(t *testing.T) { testChangedAfterBuild(t, r) })
	t.Run("records refused", func(t *testing.T) { testRecordsRefused(t, r) })
	t.Run("digest and sign records tampered", func(t *testing.T) { testRanRecordsTampered(t, r) })
	t.Run("subsets of records", func(t *testing.T) { testRecordSubsets(t, r) })
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
	code, _, stderr := cli(t, append([]string{"attest", dir, "--key", r.prefix + ".key", "--time", "2026-03-01T12:00:00Z"}, r.recordFlags("freeze", "build")...)...)
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
	build, err := trail.ReadRecord(r.records["build"])
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
	notes := build
	notes.Stage = "notes" // a stage that leaves no record attest takes
	notesFile := write("notes.json", notes)
	raw, err := os.ReadFile(r.records["freeze"])
	if err != nil {
		t.Fatal(err)
	}
	const inBundle = "BUNDLE/freeze.json" // a copy of the freeze record inside the bundle
	cases := []struct {
		name    string
		records []string
		want    []string
	}{
		{"forged output digest", []string{r.records["freeze"], forgedFile}, []string{forged.Outputs[0].Path, "sha256:" + strings.Repeat("f", 64), "sha256:" + build.Outputs[0].SHA256, "forged.json"}},
		{"unknown stage", []string{r.records["freeze"], notesFile}, []string{"notes.json", `stage "notes"`}},
		{"build without freeze", []string{r.records["build"]}, []string{"no freeze record"}},
		{"twice", []string{r.records["freeze"], r.records["build"], r.records["build"]}, []string{"two build records"}},
		{"inside the bundle", []string{inBundle, r.records["build"]}, []string{"freeze.json is inside the bundle"}},
		{"not a record", []string{r.records["freeze"], r.prefix + ".pub"}, []string{"release.pub", "stage record"}},
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

// testStagedProvenance checks that digest --lock --source-tree carried the lock's digest, the
// toolchain, the pinned base image and the source tree digest into the manifest, and attest
// into the provenance, as the release runner does.
func testStagedProvenance(t *testing.T, r *stagedRelease) {
	lock, err := freeze.ReadLock(filepath.Join(r.dir, bundle.DepsLockFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := readManifest(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dependencies != lock.Digest || m.Toolchain != lock.Toolchain.Local || m.Source.TreeDigest == "" ||
		len(m.BaseImages) != 1 || len(lock.Images) != 1 || m.BaseImages[0].Name != lock.Images[0].Name ||
		"sha256:"+strings.SplitN(stagedImage, ":", 2)[1] != m.BaseImages[0].Digest {
		t.Fatalf("manifest: dependencies %q toolchain %q tree %q images %v; lock: %q %q", m.Dependencies, m.Toolchain, m.Source.TreeDigest, m.BaseImages, lock.Digest, lock.Toolchain.Local)
	}
	deps := provenanceDependencies(t, r.dir)
	want := map[string]string{
		"dependencies":                      strings.TrimPrefix(lock.Digest, "sha256:"),
		"source-tree":                       strings.TrimPrefix(m.Source.TreeDigest, "sha256:"),
		"base-image " + lock.Images[0].Name: strings.TrimPrefix(m.BaseImages[0].Digest, "sha256:"),
	}
	for name, hex := range want {
		if deps[name]["sha256"] != hex {
			t.Errorf("provenance resolvedDependencies[%s] = %v, want sha256 %s (all: %v)", name, deps[name], hex, deps)
		}
	}
	if _, ok := deps["toolchain"]; !ok {
		t.Errorf("provenance names no toolchain: %v", deps)
	}
}

// TestDigestBuildFactsRefused: a lock or source tree digest cannot read is an input error
// naming the file, and no manifest is written.
func TestDigestBuildFactsRefused(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755)
	os.WriteFile(filepath.Join(dir, "artifacts", "a.txt"), []byte("a"), 0o644)
	bad := filepath.Join(t.TempDir(), "deps.lock.json")
	os.WriteFile(bad, []byte(`{"schema": 1}`), 0o644)
	for _, flags := range [][]string{
		{"--lock", filepath.Join(t.TempDir(), "missing.json")},
		{"--lock", bad},
		{"--source-tree", filepath.Join(t.TempDir(), "nowhere")},
	} {
		args := append([]string{"digest", dir, "--version", "v0.1.0"}, flags...)
		code, _, stderr := cli(t, args...)
		if code != exitUsage || !strings.Contains(stderr, filepath.Base(flags[1])) {
			t.Errorf("%v: exit %d, want %d naming %s: %s", flags, code, exitUsage, flags[1], stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, bundle.ManifestFile)); err == nil {
			t.Fatalf("%v: a manifest was written", flags)
		}
	}
}

// attestArgs is an attest of dir with the release's key and the given --stage-record files.
func (r *stagedRelease) attestArgs(dir string, records ...string) []string {
	args := []string{"attest", dir, "--key", r.prefix + ".key", "--time", "2026-03-01T12:00:00Z"}
	for _, f := range records {
		args = append(args, "--stage-record", f)
	}
	return args
}

func readStageRecord(t *testing.T, path string) trail.Record {
	t.Helper()
	rec, err := trail.ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// testRanRecordsTampered hands attest digest and sign records that disagree with the bundle:
// attest refuses, naming the record file, the bundle file and both digests, and writes nothing.
func testRanRecordsTampered(t *testing.T, r *stagedRelease) {
	digestRec, signRec := readStageRecord(t, r.records["digest"]), readStageRecord(t, r.records["sign"])
	forged := strings.Repeat("f", 64)
	withOutput := func(rec trail.Record, path, sha string) trail.Record {
		rec.Outputs = append([]trail.File(nil), rec.Outputs...)
		for i := range rec.Outputs {
			if rec.Outputs[i].Path == path {
				rec.Outputs[i].SHA256 = sha
				return rec
			}
		}
		rec.Outputs = append(rec.Outputs, trail.File{Path: path, SHA256: sha})
		return rec
	}
	sha := func(rec trail.Record, path string) string {
		for _, f := range append(append([]trail.File(nil), rec.Inputs...), rec.Outputs...) {
			if f.Path == path {
				return f.SHA256
			}
		}
		t.Fatalf("the %s record has no %s", rec.Stage, path)
		return ""
	}
	artifactIn := digestRec
	artifactIn.Inputs = append([]trail.File(nil), digestRec.Inputs...)
	artifactIn.Inputs[0].SHA256 = forged
	signIn := signRec
	signIn.Inputs = []trail.File{{Path: bundle.ManifestFile, SHA256: forged}}
	cases := []struct {
		name string
		rec  trail.Record
		want []string
	}{
		{"digest: manifest.json", withOutput(digestRec, bundle.ManifestFile, forged), []string{bundle.ManifestFile, "sha256:" + forged, "sha256:" + sha(digestRec, bundle.ManifestFile)}},
		{"digest: SHA256SUMS", withOutput(digestRec, bundle.ChecksumsFile, forged), []string{bundle.ChecksumsFile, "sha256:" + forged, "sha256:" + sha(digestRec, bundle.ChecksumsFile)}},
		{"digest: an artifact read", artifactIn, []string{digestRec.Inputs[0].Path, "sha256:" + forged, "sha256:" + digestRec.Inputs[0].SHA256}},
		{"sign: signature", withOutput(signRec, bundle.ManifestSigFile, forged), []string{bundle.ManifestSigFile, "sha256:" + forged, "sha256:" + sha(signRec, bundle.ManifestSigFile)}},
		{"sign: public key", withOutput(signRec, "keys/release.pub", forged), []string{"keys/release.pub", "sha256:" + forged, "sha256:" + sha(signRec, "keys/release.pub")}},
		{"sign: manifest read", signIn, []string{bundle.ManifestFile, "sha256:" + forged, "sha256:" + sha(signRec, bundle.ManifestFile)}},
		{"sign: a file sign does not write", withOutput(signRec, bundle.NotesFile, forged), []string{bundle.NotesFile, "sign writes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := r.copyBundle(t)
			bad := filepath.Join(t.TempDir(), "tampered-"+c.rec.Stage+".json")
			if err := trail.WriteRecord(bad, c.rec); err != nil {
				t.Fatal(err)
			}
			records := []string{r.records["freeze"], r.records["build"], r.records["digest"], r.records["sign"]}
			for i, f := range records {
				if f == r.records[c.rec.Stage] {
					records[i] = bad
				}
			}
			before, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile))
			code, _, stderr := cli(t, r.attestArgs(dir, records...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			for _, w := range append(c.want, bad) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if after, _ := os.ReadFile(filepath.Join(dir, bundle.ProvenanceFile)); !bytes.Equal(before, after) {
				t.Error("a refused attest rewrote the provenance")
			}
		})
	}
	t.Run("two digest records", func(t *testing.T) {
		code, _, stderr := cli(t, r.attestArgs(r.copyBundle(t), r.records["digest"], r.records["digest"])...)
		if code != exitUsage || !strings.Contains(stderr, "two digest records") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// testRecordSubsets attests with some of the records: a stage with a record gets its exact
// command, one without is recorded from the bundle with a generic command, and the attest
// link always carries attest's own argv (here, the test process's).
func testRecordSubsets(t *testing.T, r *stagedRelease) {
	pub, err := keys.LoadPublic(r.prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	for _, stages := range [][]string{
		{"freeze", "build", "digest"},
		{"digest", "sign"},
		{"sign"},
		{},
	} {
		t.Run(strings.Join(append([]string{"records"}, stages...), " "), func(t *testing.T) {
			dir := r.copyBundle(t)
			var records []string
			for _, st := range stages {
				records = append(records, r.records[st])
			}
			if code, _, stderr := cli(t, r.attestArgs(dir, records...)...); code != 0 {
				t.Fatalf("attest: exit %d: %s", code, stderr)
			}
			res, err := links.Verify(dir, []*keys.PublicKey{pub})
			if err != nil {
				t.Fatalf("links.Verify: %v", err)
			}
			recorded := map[string]bool{}
			for _, st := range stages {
				recorded[st] = true
			}
			for _, step := range res.Steps {
				got := readLink(t, dir, step)
				want := []string{"reliquary", step}
				switch {
				case recorded[step]:
					want = r.argv[step]
				case step == "attest":
					want = os.Args
				}
				if !reflect.DeepEqual(got.Command, want) {
					t.Errorf("%s link command = %q, want %q", step, got.Command, want)
				}
				if _, posthoc := got.Byproducts["recorded-by"]; posthoc == (recorded[step] || step == "attest") {
					t.Errorf("%s link byproducts %v: recorded-by wanted only on a stage without a record", step, got.Byproducts)
				}
			}
			if out, err := linkstest.StockVerify(t, linkstest.StockInToto(t), dir, r.prefix+".pub"); err != nil {
				t.Fatalf("stock in-toto rejected the bundle: %v\n%s", err, out)
			}
		})
	}
}
