package build_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
)

// The host (reliquary release on a developer's machine) and the container (the Dagger build
// stage: another GOROOT path, HOME, GOPATH, module cache, an empty GOCACHE, uid 65532, and
// whatever TZ, locale and umask the image has) must produce the same bytes. The test builds
// the same projects in this process, in the host's environment, and in a child process (this
// test binary, re-executed) whose environment differs in every one of those ways.

// childEnvVar names the spec file that turns this test binary into the child build.
const childEnvVar = "RELIQUARY_ENVTEST_CHILD"

// stageUID is the user the child builds as when the test runs as root: the Dagger stage user.
const stageUID = 65532

// envBuild is one build the child runs.
type envBuild struct {
	Source     string
	OutDir     string
	Version    string
	Commit     string
	Repository string
	Platforms  []string
	// Epoch is the commit time; the child makes it a time.Time in its own (non-UTC) zone.
	Epoch int64
}

// envSpec is what the child is asked to do, and where it writes its outputs.
type envSpec struct {
	Umask  int
	Builds []envBuild
	Result string
}

// envResult is what the child reports: its outputs, and enough of its environment to show
// that the variations took effect.
type envResult struct {
	GoBin   string // the go command it found on PATH: the copied GOROOT's
	UID     int
	Zone    string // the commit time's zone and offset in its local time
	Outputs []*build.Output
}

// runEnvChild is the child: it sets its umask, runs the builds and writes their outputs.
func runEnvChild(specPath string) int {
	var spec envSpec
	data, err := os.ReadFile(specPath)
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest child:", err)
		return 2
	}
	syscall.Umask(spec.Umask)
	res := envResult{UID: os.Getuid(), Zone: time.Unix(commitTime.Unix(), 0).Format("MST -0700")}
	res.GoBin, _ = exec.LookPath("go")
	for _, b := range spec.Builds {
		out, err := build.Run(context.Background(), build.Input{
			Source: b.Source, Version: b.Version, Commit: b.Commit, Platforms: b.Platforms, OutDir: b.OutDir,
		}, build.WithTime(time.Unix(b.Epoch, 0)), build.WithRepository(b.Repository))
		if err != nil {
			fmt.Fprintln(os.Stderr, "envtest child:", err)
			return 1
		}
		res.Outputs = append(res.Outputs, out)
	}
	if data, err = json.Marshal(res); err == nil {
		err = os.WriteFile(spec.Result, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest child:", err)
		return 1
	}
	return 0
}

// envCase is one project built on the host and in the child.
type envCase struct {
	project string
	build   envBuild
	// differs is the first differing archive entry expected (a negative control), or "".
	differs string
}

// TestHostAndContainerEnvironmentsAgree builds multi and uuidapp (which needs a module from
// the module cache) in this process and in a child whose GOROOT, HOME, GOPATH, GOMODCACHE,
// GOCACHE (empty), TMPDIR, user, umask, TZ and locale all differ; every artifact must be
// byte-identical, and so must the recorded commands, targets and toolchain. A third child
// build with another commit is a negative control: the comparison must name the binary.
func TestHostAndContainerEnvironmentsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("copies GOROOT and compiles the standard library twice with an empty GOCACHE")
	}
	base := envScratch(t)
	plats := []string{"linux/amd64", "windows/amd64"}
	common := envBuild{Version: "v1.2.3", Commit: "0123456789abcdef", Repository: "https://example.com/env",
		Platforms: plats, Epoch: commitTime.Unix()}
	var cases []envCase
	for _, p := range []struct{ name, differs string }{{"multi", ""}, {"uuidapp", ""}, {"multi", "alpha"}} {
		b := common
		b.Source = filepath.Join(base, "src", fmt.Sprint(len(cases)), p.name)
		b.OutDir = filepath.Join(base, "out", fmt.Sprint(len(cases)))
		if p.differs != "" {
			b.Commit = "fedcba9876543210"
		}
		cases = append(cases, envCase{project: p.name, build: b, differs: p.differs})
	}
	childOuts := runChildBuilds(t, base, cases)
	hosts := map[string]*build.Output{}
	for i, c := range cases {
		if hosts[c.project] == nil {
			hosts[c.project] = hostBuild(t, c.project, common)
		}
		host := hosts[c.project]
		child := childOuts[i]
		child.OutDir = c.build.OutDir
		cmp := build.Compare(host.Tree(), child.Tree())
		name := fmt.Sprintf("%s#%d", c.project, i)
		if c.differs != "" {
			checkNegativeControl(t, name, cmp, c.differs)
			t.Logf("%s (negative control, another commit): %d artifacts differ, as they must", name, len(cmp.Differences))
			continue
		}
		if !cmp.OK() || len(cmp.Reproduced) != len(host.Artifacts) {
			for _, d := range cmp.Differences {
				t.Errorf("%s: host and child environments differ: %s", name, d)
			}
		}
		t.Logf("%s: %d of %d artifacts byte-identical: %v", name, len(cmp.Reproduced), len(host.Artifacts), cmp.Reproduced)
		for _, f := range []struct {
			what        string
			host, child any
		}{{"commands", host.Commands, child.Commands}, {"targets", host.Targets, child.Targets},
			{"toolchain", host.Toolchain, child.Toolchain}, {"commit time", host.CommitTime.UTC(), child.CommitTime.UTC()}} {
			if !reflect.DeepEqual(f.host, f.child) {
				t.Errorf("%s: recorded %s differ:\nhost  %+v\nchild %+v", name, f.what, f.host, f.child)
			}
		}
	}
}

// checkNegativeControl asserts that a build with another commit is caught, naming entry.
func checkNegativeControl(t *testing.T, name string, cmp *build.Comparison, entry string) {
	t.Helper()
	found := false
	for _, d := range cmp.Differences {
		found = found || (d.Entry != nil && strings.HasPrefix(d.Entry.Name, entry))
	}
	if cmp.OK() || !found {
		t.Errorf("%s: another commit was not reported as a difference in %s: %+v", name, entry, cmp)
	}
}

// hostBuild builds project in this process's own environment (GOROOT on PATH, the user's
// caches, TZ and umask).
func hostBuild(t *testing.T, project string, b envBuild) *build.Output {
	t.Helper()
	out, err := build.Run(context.Background(), build.Input{
		Source: buildtest.Project(t, project), Version: b.Version, Commit: b.Commit, Platforms: b.Platforms,
		OutDir: filepath.Join(t.TempDir(), "out"),
	}, build.WithTime(time.Unix(b.Epoch, 0).UTC()), build.WithRepository(b.Repository))
	if err != nil {
		t.Fatalf("host build of %s: %v", project, err)
	}
	return out
}

// envScratch is a directory the child's user can enter, removed after the test.
func envScratch(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "reliquary-envtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buildtest.RemoveModCache(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runChildBuilds prepares the child's world under base and runs the builds there.
func runChildBuilds(t *testing.T, base string, cases []envCase) []*build.Output {
	t.Helper()
	goroot := filepath.Join(base, "elsewhere", "go")
	copyGOROOT(t, goroot)
	modCache := filepath.Join(base, "modcache")
	fillModCache(t, modCache, filepath.Join(buildtest.ProjectsDir(), "uuidapp"))
	home, tmp := filepath.Join(base, "home", "builder"), filepath.Join(base, "tmp")
	for _, d := range []string{home, tmp} {
		mkdir(t, d)
	}
	spec := envSpec{Umask: 0o077, Result: filepath.Join(tmp, "result.json")}
	for _, c := range cases {
		if err := buildtest.CopyTree(filepath.Join(buildtest.ProjectsDir(), c.project), c.build.Source); err != nil {
			t.Fatal(err)
		}
		restrictModes(t, c.build.Source)
		spec.Builds = append(spec.Builds, c.build)
	}
	specPath := filepath.Join(base, "spec.json")
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(specPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "build.test")
	copyFile(t, mustExecutable(t), bin, 0o755)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = tmp
	// Nothing inherited: the container's environment is its own.
	cmd.Env = []string{
		childEnvVar + "=" + specPath,
		"PATH=" + filepath.Join(goroot, "bin") + ":/usr/bin:/bin",
		"HOME=" + home, // GOCACHE defaults to HOME/.cache/go-build: empty
		"GOPATH=" + filepath.Join(home, "gopath"),
		"GOMODCACHE=" + modCache,
		"TMPDIR=" + tmp,
		"TZ=Pacific/Chatham", // UTC+12:45 or +13:45: any local-time leak shows
		"LANG=tr_TR.UTF-8", "LC_ALL=tr_TR.UTF-8",
		"USER=builder",
	}
	asOtherUser(t, cmd, base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child build: %v\n%s", err, out)
	}
	var res envResult
	data, err = os.ReadFile(spec.Result)
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil || len(res.Outputs) != len(cases) {
		t.Fatalf("child result: %v (%d outputs)", err, len(res.Outputs))
	}
	checkChildEnv(t, res, goroot)
	return res.Outputs
}

// checkChildEnv fails unless the child really ran with the other toolchain, zone and user:
// otherwise the comparison would prove nothing.
func checkChildEnv(t *testing.T, res envResult, goroot string) {
	t.Helper()
	wantUID := os.Getuid()
	if wantUID == 0 {
		wantUID = stageUID
	}
	if !strings.HasPrefix(res.GoBin, goroot+string(filepath.Separator)) || res.UID != wantUID || !strings.HasSuffix(res.Zone, "+1245") {
		t.Fatalf("the child did not run in the intended environment: go %s (want under %s), uid %d (want %d), zone %q (want Pacific/Chatham, +1245 in May)",
			res.GoBin, goroot, res.UID, wantUID, res.Zone)
	}
	t.Logf("child: go %s, uid %d, zone %s, umask 077, empty GOCACHE", res.GoBin, res.UID, res.Zone)
}

// asOtherUser runs cmd as stageUID and gives that user the directories it writes, when the
// test runs as root; otherwise it says so, and the other variations still run.
func asOtherUser(t *testing.T, cmd *exec.Cmd, base string) {
	t.Helper()
	mkdir(t, filepath.Join(base, "out"))
	if os.Geteuid() != 0 {
		t.Run("as-uid-65532", func(t *testing.T) {
			t.Skip("not root: the child builds as this same user (running it as another uid needs root)")
		})
		return
	}
	for _, d := range []string{"home", "tmp", "src", "out"} {
		chownTree(t, filepath.Join(base, d), stageUID)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: stageUID, Gid: stageUID}}
}

// restrictModes makes the source look like a checkout made under umask 077: 0600 files.
func restrictModes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyGOROOT copies the toolchain to dst, as a container image holds it at another path.
func copyGOROOT(t *testing.T, dst string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	if err := buildtest.CopyTree(strings.TrimSpace(string(out)), dst); err != nil {
		t.Fatalf("copy GOROOT: %v", err)
	}
}

// fillModCache downloads the dependencies of the module in dir into cache from the host's
// module cache (a file:// proxy: no network), as the freeze stage fills the container's.
func fillModCache(t *testing.T, cache, dir string) {
	t.Helper()
	hostCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMODCACHE="+cache, "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(hostCache)), "cache", "download"), "GOSUMDB=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod download into %s: %v\n%s", cache, err, out)
	}
}

func copyFile(t *testing.T, src, dst string, mode fs.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func chownTree(t *testing.T, dir string, id int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
