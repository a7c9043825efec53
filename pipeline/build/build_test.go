package build_test

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
)

var (
	commitTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	// platforms of the shared build: two linux platforms for the image index, windows for zip.
	platforms = []string{"linux/amd64", "linux/arm64", "windows/amd64"}
)

// scratch holds what outlives one test: the shared build and its copy of the project.
var scratch string

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnvVar); spec != "" {
		os.Exit(runEnvChild(spec)) // this binary, re-executed as the container-like build
	}
	dir, err := os.MkdirTemp("", "reliquary-build-test-")
	if err != nil {
		panic(err)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shared is one build of the multi project, reused by the tests that only read it.
var shared struct {
	once sync.Once
	out  *build.Output
	err  error
}

func sharedBuild(t *testing.T) *build.Output {
	t.Helper()
	shared.once.Do(func() {
		src := filepath.Join(scratch, "a", "multi")
		if shared.err = buildtest.CopyTree(filepath.Join(buildtest.ProjectsDir(), "multi"), src); shared.err != nil {
			return
		}
		shared.out, shared.err = build.Run(context.Background(), build.Input{
			Source: src, Version: "v1.0.0", Commit: "abc123", Platforms: platforms,
			OutDir: filepath.Join(scratch, "a", "out"),
		}, build.WithTime(commitTime))
	})
	if shared.err != nil {
		t.Fatalf("shared build: %v", shared.err)
	}
	return shared.out
}

func artifactPath(o *build.Output, name string) string {
	return filepath.Join(o.OutDir, "artifacts", name)
}

func TestOutputRecord(t *testing.T) {
	o := sharedBuild(t)
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"artifacts/multi_v1.0.0.oci.tar",
		"artifacts/multi_v1.0.0_docs.tar.gz",
		"artifacts/multi_v1.0.0_linux_amd64.tar.gz",
		"artifacts/multi_v1.0.0_linux_arm64.tar.gz",
		"artifacts/multi_v1.0.0_windows_amd64.zip",
	}
	if len(o.Artifacts) != len(want) {
		t.Fatalf("artifacts %+v", o.Artifacts)
	}
	for i, a := range o.Artifacts {
		if a.Path != want[i] {
			t.Errorf("artifact %d: %s, want %s", i, a.Path, want[i])
		}
		fi, err := os.Stat(filepath.Join(o.OutDir, a.Path))
		if err != nil || fi.Size() != a.Size {
			t.Errorf("%s: size %d recorded, file: %v %v", a.Path, a.Size, fi, err)
		}
	}
	if o.Artifacts[4].Platform != "windows/amd64" || o.Artifacts[4].Kind != "archive" || o.Artifacts[0].Kind != "image" || o.Artifacts[1].Kind != "docs" {
		t.Errorf("kinds/platforms: %+v", o.Artifacts)
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	if o.Toolchain.Version != strings.TrimSpace(string(goVersion)) || !strings.HasPrefix(o.Toolchain.GoVersion, "go version go1.") {
		t.Errorf("toolchain %+v", o.Toolchain)
	}
	if o.TimeSource != build.TimeFromOption || !o.CommitTime.Equal(commitTime) || o.Commit != "abc123" || o.Module != "example.com/multi" {
		t.Errorf("record: %+v", o)
	}
	if len(o.Commands) != 3 {
		t.Fatalf("%d commands, want one per platform", len(o.Commands))
	}
	for _, c := range o.Commands {
		args, env := strings.Join(c.Args, " "), strings.Join(c.Env, " ")
		for _, w := range []string{"-trimpath", "-buildvcs=false", "-gcflags=all=-dwarf=false", "-ldflags=-s -w -buildid= -X main.version=v1.0.0 -X main.commit=abc123", "./cmd/alpha ./cmd/beta"} {
			if !strings.Contains(args, w) {
				t.Errorf("%s: args %q lack %q", c.Platform, args, w)
			}
		}
		for _, w := range []string{"CGO_ENABLED=0", "GOENV=off", "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "GOOS=" + strings.Split(c.Platform, "/")[0]} {
			if !strings.Contains(env, w) {
				t.Errorf("%s: env %q lacks %q", c.Platform, env, w)
			}
		}
		if strings.Contains(env, "GOCACHE") || strings.Contains(env, "HOME") || strings.Contains(args, scratch) {
			t.Errorf("%s: machine-specific paths recorded: %q %q", c.Platform, args, env)
		}
	}
}

func TestStampedBinaryRuns(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("runs a linux/amd64 binary; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	o := sharedBuild(t)
	dir := t.TempDir()
	cmd := exec.Command("tar", "-xzf", artifactPath(o, "multi_v1.0.0_linux_amd64.tar.gz"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "beta")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "beta v1.0.0 abc123\n" {
		t.Errorf("beta printed %q", out)
	}
	checkNoDebugInfo(t, filepath.Join(dir, "beta"))
}

// checkNoDebugInfo checks that a binary was built without DWARF: the compiler generated none
// (its build info records the flag) and the binary carries none.
func checkNoDebugInfo(t *testing.T, bin string) {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["-gcflags"] != "all=-dwarf=false" || settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
		t.Errorf("%s: build settings %v", bin, settings)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sec := range f.Sections {
		if strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("%s: has section %s", bin, sec.Name)
		}
	}
}
