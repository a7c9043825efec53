package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--source", "."},
		{"bench", "--out", "x.json", "--threshold", "five"},
		{"bench", "--out", "x.json", "--threshold", "-1%"},
		{"bench", "--out", "x.json", "--command", "noname"},
		{"bench", "--out", "x.json", "--command", "d=./cmd/d", "--ready", "other=ready"},
		{"bench", "--out", "x.json", "stray"},
	} {
		if code, _, stderr := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}

// benchRepo commits the bench stage's test project (module in proj/) as v0.9.0.
func benchRepo(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles and runs benchmarks; skipped with -short")
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1", "GOFLAGS": "", "GOWORK": "off",
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
	} {
		t.Setenv(k, v)
	}
	repo := t.TempDir()
	proj := filepath.Join(repo, "proj")
	benchCopyDir(t, "../../pipeline/bench/testdata/benchproj", proj)
	benchGit(t, repo, "init", "-q", "-b", "main")
	benchGit(t, repo, "add", ".")
	benchGit(t, repo, "commit", "-q", "-m", "v0.9.0")
	benchGit(t, repo, "tag", "v0.9.0")
	return proj
}

func benchGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func benchCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, rel), data, 0o644)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBenchGateFailsOnSlowdown(t *testing.T) {
	proj := benchRepo(t)
	benchCopyDir(t, "../../pipeline/bench/testdata/benchproj-slow", proj)
	benchGit(t, proj, "commit", "-q", "-am", "slower")
	out := t.TempDir()
	benchJSON, md, st := filepath.Join(out, "bench.json"), filepath.Join(out, "bench.md"), filepath.Join(out, "bench.intoto.json")
	code, stdout, stderr := cli(t, "bench", "--source", proj, "--bench", "^BenchmarkWork$", "--count", "8", "--benchtime", "100x",
		"--baseline-ref", "v0.9.0", "--out", benchJSON, "--markdown", md, "--statement", st, "--quiet")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	if !strings.Contains(stderr, "benchmark regression: example.com/benchproj.Work-") || !strings.Contains(stdout, "gate: FAILED") {
		t.Fatalf("the failing benchmark is not named:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	data, err := os.ReadFile(benchJSON)
	if err != nil {
		t.Fatal(err)
	}
	statement, err := os.ReadFile(st)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bench.CheckStatement(statement, data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Gate.Status != bench.GateFailed || r.Baseline.Ref != "v0.9.0" {
		t.Errorf("bench.json gate %s baseline %+v", r.Gate.Status, r.Baseline)
	}
	if m, err := os.ReadFile(md); err != nil || !strings.Contains(string(m), "**Benchmark gate: failed**") {
		t.Errorf("markdown: %v\n%s", err, m)
	}
}

func TestBenchCommandOnly(t *testing.T) {
	proj := benchRepo(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := cli(t, "bench", "--source", proj, "--packages", "./cmd/...", "--count", "2", "--quiet",
		"--command", "Startup=./cmd/daemon -startup=5ms", "--ready", "Startup=ready to serve", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "pkg: command:./cmd/daemon") || !strings.Contains(stdout, "gate: skipped") {
		t.Errorf("stdout:\n%s", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Load(data); err != nil {
		t.Fatal(err)
	}
}
