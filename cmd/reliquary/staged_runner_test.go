package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// scratchRepo is a project with three tagged releases and conventional commits since the
// last tag, as a user's checkout looks when the next release is cut.
func scratchRepo(t *testing.T) (dir string, since []string) {
	t.Helper()
	dir = buildtest.Project(t, "multi")
	bench := "package greet\n\nimport \"testing\"\n\nfunc BenchmarkLine(b *testing.B) {\n\tfor range b.N {\n\t\t_ = Line(\"a\", \"v1\", \"c\")\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "internal", "greet", "greet_test.go"), []byte(bench), 0o644); err != nil {
		t.Fatal(err)
	}
	g := gittest.NewIn(t, dir)
	g.Git("add", "-A")
	g.Commit("feat: first release")
	g.Tag("v0.1.0")
	g.Commit("fix: a bug of v0.1.0")
	g.Tag("v0.2.0")
	g.Commit("feat: an idea of v0.3.0")
	g.AnnotatedTag("v0.3.0")
	since = []string{"feat: verify bundles offline", "fix: name the file that drifted", "docs: explain the gate"}
	for _, m := range since {
		g.Commit(m)
	}
	g.Git("remote", "add", "origin", "https://example.com/scratch/multi.git")
	return dir, since
}

// moduleStages runs every stage of release.Stages as its own process, with exactly the flags
// the Dagger module passes, in the module's order; each stage sees only its inputs.
func moduleStages(t *testing.T, bin, src, key, work, records, version string) map[string]any {
	t.Helper()
	out, errb := runOutput(t, bin, "describe", src, "--version", version)
	var d map[string]any
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("describe printed %q (%v)\n%s", out, err, errb)
	}
	epoch := strconv.FormatInt(int64(d["sourceDateEpoch"].(float64)), 10)
	t.Setenv("SOURCE_DATE_EPOCH", epoch)
	rec := func(name string) string { return filepath.Join(records, name) }
	lock := filepath.Join(work, bundle.DepsLockFile)
	buildArgs := []string{"--version", version, "--lock", lock, "--commit", d["commit"].(string), "--source-date-epoch", epoch,
		"--repository", d["repository"].(string), "--platforms", "linux/amd64"}
	stageRecords := []string{"--stage-record", rec("freeze.json"), "--stage-record", rec("build.json"), "--stage-record", rec("bench.json"),
		"--stage-record", rec("digest.json"), "--stage-record", rec("sign.json")}
	pub := filepath.Join(work, "keys", "release.pub")
	for _, argv := range [][]string{
		{"freeze", src, "--out", lock, "--record", rec("freeze.json")},
		append([]string{"build", src, "--out", work, "--record", rec("build.json"), "--report", rec("build-report.json")}, buildArgs...),
		append([]string{"reproduce", src, "--against", work, "--build-report", rec("build-report.json"), "--result", rec("reproduction.json")}, buildArgs...),
		{"bench", "--source", src, "--out", filepath.Join(work, bundle.BenchFile), "--count", "5", "--benchtime", "1x", "--record", rec("bench.json")},
		{"digest", work, "--version", version, "--project", d["project"].(string), "--source-commit", d["commit"].(string),
			"--expect", "provenance,links,escrow,reproducibility,benchmark", "--lock", lock, "--source-tree", src, "--record", rec("digest.json"),
			"--source-repo", d["repository"].(string)},
		{"sign", work, "--key", key, "--record", rec("sign.json")},
		append([]string{"attest", work, "--builder-id", "https://reliquary.dev/builders/dagger/v1", "--source-ref", d["ref"].(string),
			"--key", key, "--reproduction", rec("reproduction.json"), "--bench"}, stageRecords...),
		{"notes", "--in-bundle", "--source", src, "--version", version, "--commit", d["commit"].(string), "--bundle", work, "--bundle-name", "dist", "--key", pub},
		append([]string{"audit", work, "--source", src, "--key", pub, "--build-report", rec("build-report.json")}, stageRecords...),
		{"escrow", work, "--key", key},
		{"seal", work, "--key", key},
	} {
		runProcess(t, append([]string{bin}, argv...)...)
	}
	return d
}

func runOutput(t *testing.T, argv ...string) ([]byte, string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, stderr.String())
	}
	return out, stderr.String()
}

// bundleFiles lists a bundle's files, relative, sorted, with the SHA-256 of each artifact.
func bundleFiles(t *testing.T, dir string) (names []string, artifacts map[string]string) {
	t.Helper()
	artifacts = map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		names = append(names, rel)
		if strings.HasPrefix(rel, bundle.ArtifactsDir+"/") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			artifacts[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names, artifacts
}

// The stages run one by one, as the Dagger module runs them, make the bundle the local
// runner makes: the same file set, byte-identical artifacts, notes listing exactly the
// commits since the previous tag, and a bundle the gate accepts.
func TestStagesMakeTheRunnersBundle(t *testing.T) {
	noPasswordEnv(t)
	bin := reliquaryBinary(t)
	src, since := scratchRepo(t)
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "release.key")
	runProcess(t, bin, "keygen", "--no-password", filepath.Join(keyDir, "release"))
	work, records := filepath.Join(t.TempDir(), "work"), t.TempDir()
	os.MkdirAll(work, 0o755)
	moduleStages(t, bin, src, key, work, records, "v0.4.0")

	dist := filepath.Join(t.TempDir(), "dist")
	runProcess(t, bin, "release", "--source", src, "--version", "v0.4.0", "--key", key, "--out", dist,
		"--platforms", "linux/amd64", "--check-reproducible", "--bench", "--bench-count", "5", "--bench-time", "1x")

	stagedFiles, stagedArtifacts := bundleFiles(t, work)
	runnerFiles, runnerArtifacts := bundleFiles(t, dist)
	if !slices.Equal(stagedFiles, runnerFiles) {
		t.Errorf("file sets differ:\nstages: %v\nrunner: %v", stagedFiles, runnerFiles)
	}
	for name, sum := range runnerArtifacts {
		if stagedArtifacts[name] != sum {
			t.Errorf("%s: sha256 %s from the stages, %s from the runner", name, stagedArtifacts[name], sum)
		}
	}
	if len(runnerArtifacts) < 3 {
		t.Errorf("the runner made only %d artifacts: %v", len(runnerArtifacts), runnerArtifacts)
	}
	if code, out, stderr := cli(t, "verify", work, "--key", filepath.Join(keyDir, "release.pub"), "--expect-version", "v0.4.0"); code != 0 {
		t.Fatalf("verify of the staged bundle: exit %d\n%s\n%s", code, out, stderr)
	}
	notes, err := os.ReadFile(filepath.Join(work, bundle.NotesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range since {
		if _, subject, _ := strings.Cut(m, ": "); !strings.Contains(string(notes), subject) {
			t.Errorf("the notes lack %q:\n%s", m, notes)
		}
	}
	for _, old := range []string{"a bug of v0.1.0", "an idea of v0.3.0", "first release"} {
		if strings.Contains(string(notes), old) {
			t.Errorf("the notes list %q, a commit of an earlier release", old)
		}
	}
}

// The notes stage of a source that is not a checkout (its facts given to the module) writes
// notes that say no commits are listed, and needs the full commit.
func TestNotesInBundleWithoutHistory(t *testing.T) {
	noPasswordEnv(t)
	bundleDir, pub := t.TempDir(), filepath.Join(t.TempDir(), "release")
	if code, _, stderr := cli(t, "keygen", "--no-password", pub); code != 0 {
		t.Fatal(stderr)
	}
	src := buildtest.Project(t, "multi") // no .git
	os.MkdirAll(filepath.Join(bundleDir, "artifacts"), 0o755)
	if err := os.WriteFile(filepath.Join(bundleDir, "artifacts", "multi_v1.0.0_docs.tar.gz"), []byte("docs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "digest", bundleDir, "--version", "v1.0.0", "--project", "multi"); code != 0 {
		t.Fatalf("digest: %s", stderr)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	args := []string{"notes", "--in-bundle", "--source", src, "--version", "v1.0.0", "--bundle", bundleDir, "--key", pub + ".pub"}
	if code, _, stderr := cli(t, append(args, "--commit", "HEAD")...); code != 2 || !strings.Contains(stderr, "40 hex digits") {
		t.Fatalf("notes of a non-checkout with --commit HEAD: exit %d, %s; want 2 asking for the full commit", code, stderr)
	}
	if code, _, stderr := cli(t, append(args, "--commit", testCommit)...); code != 0 {
		t.Fatalf("notes of a non-checkout: exit %d: %s", code, stderr)
	}
	notes, err := os.ReadFile(filepath.Join(bundleDir, bundle.NotesFile))
	if err != nil || !strings.Contains(string(notes), "without its git history") || !strings.Contains(string(notes), testCommit) {
		t.Fatalf("notes without history = %q, %v", notes, err)
	}
}
