package bench_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// gitEnv isolates the tests' git from the machine's configuration (signing, hooks, names).
func gitEnv(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_NAME", "Bench Test")
	t.Setenv("GIT_AUTHOR_EMAIL", "bench@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Bench Test")
	t.Setenv("GIT_COMMITTER_EMAIL", "bench@example.com")
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOWORK", "off")
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func copyTree(t *testing.T, src, dst string) {
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
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a git repository holding testdata/benchproj in the subdirectory proj (so the
// module is not at the repository's root), commits it and tags it v0.9.0. It returns the
// module directory.
func newRepo(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles and runs benchmarks on two commits; skipped with -short")
	}
	gitEnv(t)
	repo := t.TempDir()
	proj := filepath.Join(repo, "proj")
	copyTree(t, filepath.Join("testdata", "benchproj"), proj)
	run(t, repo, "git", "init", "-q", "-b", "main")
	run(t, repo, "git", "add", ".")
	run(t, repo, "git", "commit", "-q", "-m", "v0.9.0")
	run(t, repo, "git", "tag", "v0.9.0")
	return proj
}

func TestGateCatchesSlowdown(t *testing.T) {
	proj := newRepo(t)
	baseCommit := run(t, proj, "git", "rev-parse", "HEAD")
	copyTree(t, filepath.Join("testdata", "benchproj-slow"), proj)
	run(t, proj, "git", "add", ".")
	run(t, proj, "git", "commit", "-q", "-m", "three times the work, one more allocation, a new package")
	head := run(t, proj, "git", "rev-parse", "HEAD")

	start := time.Now()
	r, err := bench.Run(context.Background(), bench.Input{
		Source: proj, Bench: "^Benchmark(Work|New)$", Count: 8, BenchTime: "3000x", BaselineRef: "v0.9.0",
		// newpkg is new since v0.9.0: measured, reported as added, not an error.
		Packages: []string{".", "./newpkg"},
		Log:      testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Run took %v\n%s", time.Since(start), bench.Text(r))
	if r.Baseline.Commit != baseCommit || r.Current.Commit != head || r.Current.Dirty {
		t.Errorf("commits: baseline %s current %s dirty %v", r.Baseline.Commit, r.Current.Commit, r.Current.Dirty)
	}
	if r.Machine.GoVersion == "" || r.Machine.Cores < 1 || r.Machine.GOOS == "" || r.Machine.CPU == "" {
		t.Errorf("machine %+v", r.Machine)
	}
	if r.Gate.Status != bench.GateFailed {
		t.Fatalf("gate %s, want failed", r.Gate.Status)
	}
	want := map[string]bool{"sec/op": false, "allocs/op": false}
	for _, f := range r.Gate.Regressions {
		if f.Package != "example.com/benchproj" || trimProcs(f.Name) != "Work" || !(f.P < 0.05) {
			t.Errorf("regression %+v", f)
		}
		want[f.Unit] = true
	}
	if !want["sec/op"] || !want["allocs/op"] || len(r.Gate.Regressions) != 2 {
		t.Fatalf("regressions %v, want Work in sec/op and allocs/op", r.Gate.Regressions)
	}
	for _, c := range r.Comparisons {
		if c.Package == "example.com/benchproj" && c.Unit == "sec/op" && (*c.ChangePct < 100 || c.Baseline.N != 8 || c.Current.N != 8) {
			t.Errorf("sec/op change %v%% with n=%d+%d, want about +200%%", *c.ChangePct, c.Baseline.N, c.Current.N)
		}
	}
	added := map[string]bool{}
	for _, c := range r.Comparisons {
		if c.Verdict == bench.VerdictAdded && c.Unit == "sec/op" {
			added[c.Package+" "+trimProcs(c.Name)] = true
		}
	}
	if len(added) != 1 || !added["example.com/benchproj/newpkg New"] {
		t.Errorf("added benchmarks %v, want newpkg's New", added)
	}
	if err := r.Gate.Err(); err == nil || !strings.Contains(err.Error(), "example.com/benchproj.Work") {
		t.Errorf("gate error %v does not name the benchmark", err)
	}

	// bench.json carries every sample and survives the statement round trip.
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := bench.Statement(data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := bench.CheckStatement(st, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range back.Baseline.Series {
		if len(s.Values) != 8 {
			t.Errorf("baseline %s has %d samples, want 8", s.Key(), len(s.Values))
		}
	}

	// Accepting the regression knowingly passes the gate and says so.
	p, err := bench.NewPolicy(bench.WithAllowRegression("BenchmarkWork"))
	if err != nil {
		t.Fatal(err)
	}
	_, gate := p.Compare(r.Baseline.Series, r.Current.Series)
	if gate.Status != bench.GatePassed || len(gate.Allowed) != 2 || gate.AllowRegression[0] != "BenchmarkWork" {
		t.Errorf("with allowance: %+v", gate)
	}
}

// testLog sends the stage's progress to the test log, with times, to see where time goes.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i]
	}
	return name
}

// TestNoFalseRegressions runs two commits with the same tree against each other, interleaved,
// and counts false alarms over independent comparisons: the whole run, and the run cut into
// chunks of chunkSize rounds. Identical code is the null hypothesis, so p-values are uniform:
// a comparison is significant with probability 0.05 and a significant change for the worse
// with probability 0.025 when the noise is much larger than the 5% threshold (as on a loaded
// 2-core machine), and close to 0 when it is smaller. A bias between the sides (for example
// one side always running first) would push these rates up. The bounds below fail with
// probability about 0.002 each at the nominal rates (the chunks overlap the whole run, so the
// comparisons are not quite independent; the bounds are loose enough for that).
func TestNoFalseRegressions(t *testing.T) {
	const count, chunkSize = 40, 4
	proj := newRepo(t)
	run(t, proj, "git", "commit", "-q", "--allow-empty", "-m", "nothing changed")

	start := time.Now()
	r, err := bench.Run(context.Background(), bench.Input{
		Source: proj, Bench: "^BenchmarkWork$", Count: count, BenchTime: "100x", BaselineRef: "v0.9.0",
		Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Run took %v\n%s", time.Since(start), bench.Text(r))
	if r.Baseline.Commit == r.Current.Commit {
		t.Fatal("the two sides are the same commit")
	}

	p, err := bench.NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	comparisons := 1
	regressions, significant := countAlarms(r.Comparisons, r.Gate)
	for lo := 0; lo+chunkSize <= count; lo += chunkSize {
		comps, gate := p.Compare(chunk(r.Baseline.Series, lo, chunkSize), chunk(r.Current.Series, lo, chunkSize))
		reg, sig := countAlarms(comps, gate)
		regressions, significant, comparisons = regressions+reg, significant+sig, comparisons+1
	}
	t.Logf("identical code, %d comparisons (1 of %d+%d samples, %d of %d+%d): %d significant sec/op changes, %d regressions",
		comparisons, count, count, comparisons-1, chunkSize, chunkSize, significant, regressions)
	// P(at least 3 of 11 at 0.025) and P(at least 4 of 11 at 0.05) are both about 0.002.
	if regressions > 2 || significant > 3 {
		t.Fatalf("%d regressions and %d significant changes in %d comparisons of identical code", regressions, significant, comparisons)
	}
}

func countAlarms(comps []bench.Comparison, gate bench.Gate) (regressions, significant int) {
	for _, c := range comps {
		if c.Unit == "sec/op" && c.Verdict != bench.VerdictSame {
			significant++
		}
	}
	return len(gate.Regressions), significant
}

// chunk keeps samples [lo, lo+n) of every series: the samples of rounds lo+1 to lo+n.
func chunk(series []bench.Series, lo, n int) []bench.Series {
	out := make([]bench.Series, len(series))
	for i, s := range series {
		out[i] = s
		out[i].Values = s.Values[lo : lo+n]
	}
	return out
}

// TestCommandBenchmarks times a daemon's start-up and a command's whole run on both sides,
// interleaved like Go benchmarks.
func TestCommandBenchmarks(t *testing.T) {
	const count = 5 // the fewest with which Holm over the 2 gated comparisons can find anything
	proj := newRepo(t)
	r, err := bench.Run(context.Background(), bench.Input{
		Source:      proj,
		Packages:    []string{"./cmd/..."}, // no tests there: only the commands run
		Count:       count,
		BaselineRef: "v0.9.0",
		Commands: []bench.Command{
			{Name: "Startup", Package: "./cmd/daemon", Args: []string{"-startup=30ms"}, Ready: "ready to serve"},
			{Name: "Exit", Package: "./cmd/daemon", Args: []string{"-exit", "-startup=10ms"}},
		},
		Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", bench.Text(r))
	for _, side := range []*bench.Side{r.Baseline, &r.Current} {
		got := map[string][]float64{}
		for _, s := range side.Series {
			if s.Package != "command:./cmd/daemon" {
				t.Errorf("series package %q", s.Package)
			}
			got[s.Name+" "+s.Unit] = s.Values
		}
		for key, min := range map[string]float64{"Startup sec/op": 0.030, "Exit sec/op": 0.010} {
			vals := got[key]
			if len(vals) != count {
				t.Fatalf("%s: %d samples, want %d (series %v)", key, len(vals), count, got)
			}
			for _, v := range vals {
				if v < min || v > 30 {
					t.Errorf("%s = %vs, want at least %vs", key, v, min)
				}
			}
		}
		for _, key := range []string{"Startup user-sec/op", "Startup sys-sec/op", "Exit user-sec/op"} {
			if len(got[key]) != count {
				t.Errorf("%s: %d samples, want %d", key, len(got[key]), count)
			}
		}
	}
	if len(r.Comparisons) != 6 || r.Gate.Status == bench.GateSkipped {
		t.Errorf("%d comparisons, gate %s", len(r.Comparisons), r.Gate.Status)
	}
	if len(r.Config.Commands) != 2 || r.Config.Commands[0].Ready != "ready to serve" {
		t.Errorf("config commands %+v", r.Config.Commands)
	}
}

func TestRunRefuses(t *testing.T) {
	proj := newRepo(t)
	notGit := t.TempDir()
	copyTree(t, filepath.Join("testdata", "benchproj"), notGit)
	tests := []struct {
		name string
		in   bench.Input
		want string
	}{
		{"ref like an option", bench.Input{Source: proj, BaselineRef: "--output=/tmp/x", Count: 5}, "not a valid git ref"},
		{"unknown ref", bench.Input{Source: proj, BaselineRef: "v9.9.9", Count: 5}, "no such commit"},
		{"not a git checkout", bench.Input{Source: notGit, BaselineRef: "v0.9.0", Count: 5}, "needs a git checkout"},
		{"too few samples to compare", bench.Input{Source: proj, BaselineRef: "v0.9.0", Count: 3}, "at least 4 samples"},
		{"package like an option", bench.Input{Source: proj, Packages: []string{"-exec=sh"}}, "must not be empty or start with '-'"},
		{"no source", bench.Input{}, "no source directory"},
		{"missing source", bench.Input{Source: filepath.Join(proj, "nope")}, "not a directory"},
		{"bad command", bench.Input{Source: proj, Commands: []bench.Command{{Name: "x y", Package: "./cmd/daemon"}}}, "without spaces"},
		{"bad ready pattern", bench.Input{Source: proj, Commands: []bench.Command{{Name: "x", Package: "./cmd/daemon", Ready: "("}}}, "ready pattern"},
		{"nothing matched", bench.Input{Source: proj, Packages: []string{"./cmd/..."}}, `no benchmark matched "."`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.Run(context.Background(), tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat("/tmp/x"); err == nil {
		t.Error("a ref was read as a git option")
	}
}
