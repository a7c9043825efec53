package build_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/config"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// TestConfigDriven: reliquary.yaml picks the package, renames the binary and the archive,
// stamps the date, skips the image and narrows the docs.
func TestConfigDriven(t *testing.T) {
	src := buildtest.Project(t, "multi")
	buildtest.WriteFile(t, src, "reliquary.yaml", `project: suite
builds:
  - main: ./cmd/alpha
    binary: alpha-cli
stamp:
  version: main.version
  commit: main.commit
  date: main.date
archives:
  name: "{{.Project}}-{{.Version}}-{{.OS}}-{{.Arch}}"
  files: [LICENSE]
image:
  skip: true
docs:
  files: ["README*"]
`)
	o := run(t, src, []string{"linux/amd64"})
	var paths []string
	for _, a := range o.Artifacts {
		paths = append(paths, a.Path)
	}
	if got := strings.Join(paths, " "); got != "artifacts/suite-v1.0.0-linux-amd64.tar.gz artifacts/suite_v1.0.0_docs.tar.gz" {
		t.Errorf("artifacts: %s", got)
	}
	if len(o.Skipped) != 1 || o.Skipped[0].What != "image" {
		t.Errorf("skipped %+v", o.Skipped)
	}
	if !strings.Contains(strings.Join(o.Commands[0].Args, " "), "-X main.date=2024-05-06T07:08:09Z") {
		t.Errorf("date not stamped: %v", o.Commands[0].Args)
	}
	ms, err := archive.List(filepath.Join(o.OutDir, o.Artifacts[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "LICENSE" || ms[1].Name != "alpha-cli" {
		t.Errorf("archive members %+v", ms)
	}
}

// TestTimeAndCommitFromGit: without options the time and commit come from git HEAD;
// SOURCE_DATE_EPOCH wins over git.
func TestTimeAndCommitFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	src := buildtest.Project(t, "multi")
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2021-02-03T04:05:06Z", "GIT_AUTHOR_DATE=2021-02-03T04:05:06Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "init")
	head := git("rev-parse", "HEAD")
	in := build.Input{Source: src, Version: "v1.0.0", Platforms: []string{"linux/amd64"}, OutDir: t.TempDir()}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	o, err := build.Run(context.Background(), in, build.WithParallelism(1))
	if err != nil {
		t.Fatal(err)
	}
	if o.TimeSource != build.TimeFromGit || !o.CommitTime.Equal(time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)) || o.Commit != head {
		t.Errorf("from git: %s %s %s, want %s", o.TimeSource, o.CommitTime, o.Commit, head)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	in.OutDir = t.TempDir()
	if o, err = build.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if o.TimeSource != build.TimeFromEnv || o.CommitTime.Unix() != 1600000000 {
		t.Errorf("from SOURCE_DATE_EPOCH: %s %s", o.TimeSource, o.CommitTime)
	}
}

// TestHermetic: after freeze fills a module cache, the build runs from it with GOPROXY=off;
// with an empty cache the build fails instead of downloading.
func TestHermetic(t *testing.T) {
	cache := buildtest.ModCache(t)
	src := buildtest.Project(t, "uuidapp")
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: src}, freeze.WithModCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	o := run(t, src, []string{"linux/amd64"}, build.WithModCache(cache), build.WithLock(lock))
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		dir := t.TempDir()
		cmd := exec.Command("tar", "-xzf", filepath.Join(o.OutDir, "artifacts", "uuidapp_v1.0.0_linux_amd64.tar.gz"))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		out, err := exec.Command(filepath.Join(dir, "uuidapp")).Output()
		if err != nil || !strings.HasPrefix(string(out), "uuidapp v1.0.0 abc123 ") {
			t.Errorf("uuidapp printed %q, %v", out, err)
		}
	}
	_, err = build.Run(context.Background(), build.Input{Source: src, Version: "v1.0.0", Platforms: []string{"linux/amd64"}, OutDir: t.TempDir()},
		build.WithTime(commitTime), build.WithModCache(buildtest.ModCache(t)))
	if err == nil || !strings.Contains(err.Error(), "GOPROXY=off") {
		t.Errorf("build with an empty module cache: %v, want a failure naming GOPROXY=off", err)
	}
	// The lock pins go.sum: a changed go.sum is refused before building.
	buildtest.WriteFile(t, src, "go.sum", "")
	_, err = build.Run(context.Background(), build.Input{Source: src, Version: "v1.0.0", Platforms: []string{"linux/amd64"}, OutDir: t.TempDir()},
		build.WithTime(commitTime), build.WithModCache(cache), build.WithLock(lock))
	if err == nil || !strings.Contains(err.Error(), "go.sum changed") {
		t.Errorf("changed go.sum: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	nonEmpty := t.TempDir()
	buildtest.WriteFile(t, nonEmpty, "artifacts/stale.tar.gz", "old")
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, src string) // may change the project copy
		in     func(in *build.Input)
		opts   []build.Option
		want   string
		wantIs error
	}{
		{name: "bad version", in: func(in *build.Input) { in.Version = "v1/../../x" }, want: "version"},
		{name: "stale artifacts", in: func(in *build.Input) { in.OutDir = nonEmpty }, want: "is not empty"},
		{name: "unknown platform", in: func(in *build.Input) { in.Platforms = []string{"linux/sparc"} }, want: "cannot build for it"},
		{name: "malformed platform", in: func(in *build.Input) { in.Platforms = []string{"linux"} }, want: "not os/arch"},
		{name: "platform twice", in: func(in *build.Input) { in.Platforms = []string{"linux/amd64", "linux/amd64"} }, want: "listed twice"},
		{name: "bad commit", in: func(in *build.Input) { in.Commit = "abc -X main.evil=1" }, want: "commit"},
		{name: "not a module", in: func(in *build.Input) { in.Source = t.TempDir() }, want: "not a Go module root"},
		{name: "no time", opts: []build.Option{}, want: "no commit time"},
		{name: "bad config", setup: func(t *testing.T, src string) {
			buildtest.WriteFile(t, src, "reliquary.yaml", "projekt: x\n")
		}, want: "reliquary.yaml", wantIs: config.ErrInvalid},
		{name: "config names a library", setup: func(t *testing.T, src string) {
			buildtest.WriteFile(t, src, "reliquary.yaml", "builds:\n  - main: ./internal/greet\n")
		}, want: "must name one main package"},
		{name: "same binary name twice", setup: func(t *testing.T, src string) {
			buildtest.WriteFile(t, src, "tools/alpha/main.go", "package main\n\nfunc main() {}\n")
		}, want: "both build \"alpha\""},
		{name: "compile error", setup: func(t *testing.T, src string) {
			buildtest.WriteFile(t, src, "cmd/beta/broken.go", "package main\n\nfunc broken() { undefined() }\n")
		}, want: "undefined: undefined"},
		{name: "no main package", setup: func(t *testing.T, src string) {
			os.RemoveAll(filepath.Join(src, "cmd"))
		}, want: "no main package"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := buildtest.Project(t, "multi")
			if tc.setup != nil {
				tc.setup(t, src)
			}
			in := build.Input{Source: src, Version: "v1.0.0", Platforms: []string{"linux/amd64"}, OutDir: t.TempDir()}
			if tc.in != nil {
				tc.in(&in)
			}
			opts := tc.opts
			if opts == nil {
				opts = []build.Option{build.WithTime(commitTime)}
			}
			t.Setenv("SOURCE_DATE_EPOCH", "")
			_, err := build.Run(context.Background(), in, opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if des, _ := os.ReadDir(filepath.Join(in.OutDir, "artifacts")); in.OutDir != nonEmpty && len(des) != 0 {
				t.Errorf("a failed build left %d artifacts", len(des))
			}
		})
	}
}

// TestSameDefaultNameRenamed: two packages named alpha build in separate go invocations
// (go build -o dir/ refuses duplicates) and land under their configured names.
func TestSameDefaultNameRenamed(t *testing.T) {
	src := buildtest.Project(t, "multi")
	buildtest.WriteFile(t, src, "tools/alpha/main.go", "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"tools alpha\\n\") }\n")
	buildtest.WriteFile(t, src, "reliquary.yaml", "builds:\n  - main: ./cmd/alpha\n  - main: ./tools/alpha\n    binary: alpha-tool\n")
	o := run(t, src, []string{"linux/amd64"})
	if len(o.Commands) != 2 {
		t.Errorf("%d go invocations, want 2", len(o.Commands))
	}
	ms, err := archive.List(filepath.Join(o.OutDir, "artifacts", "multi_v1.0.0_linux_amd64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "LICENSE README.md alpha alpha-tool" {
		t.Fatalf("members: %s", got)
	}
	if ms[2].SHA256 == ms[3].SHA256 {
		t.Error("alpha and alpha-tool are the same binary")
	}
}
