package hardening_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
)

// scratch is the directory everything the package's tests share lives in, made on first
// use (so that fuzzing workers and helper processes leave nothing behind). TestMain removes
// it unless RELIQUARY_HARDENING_KEEP is set, to inspect the releases and the cases.
var (
	scratchOnce sync.Once
	scratchDir  string
	scratchErr  error
)

func scratch() (string, error) {
	scratchOnce.Do(func() { scratchDir, scratchErr = os.MkdirTemp("", "reliquary-hardening-") })
	return scratchDir, scratchErr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if scratchDir != "" {
		if os.Getenv("RELIQUARY_HARDENING_KEEP") != "" {
			fmt.Fprintf(os.Stderr, "hardening: kept %s\n", scratchDir)
		} else {
			os.RemoveAll(scratchDir)
		}
	}
	os.Exit(code)
}

// Versions of the fixture's releases: the current one, and an older one of the same
// project (what a rollback attack would serve instead).
const (
	curVersion = "v1.1.0"
	oldVersion = "v1.0.0"
	platform   = "linux/amd64" // one platform keeps the releases fast
)

// fixture is what the tests attack: real releases made once per test binary.
type fixture struct {
	bin      string           // the reliquary CLI, built from this tree
	key      *keys.PrivateKey // the release key: the only key the gate trusts
	other    *keys.PrivateKey // an attacker's key
	keyFile  string           // key, encrypted with password (keys.Write)
	pubFile  string
	pwFile   string
	password string
	src      string // the project's git repository at the current release's commit

	cur  string // the current release (CLI `reliquary release`, v1.1.0)
	old  string // an older release of the same project and key (v1.0.0)
	twin string // another release claiming v1.1.0, from another commit, same key

	curStdout, curStderr []byte        // the CLI release's output, --log-format json
	inprocLogs           *lockedBuffer // JSON logs of the in-process releases
	curDuration          time.Duration // how long the CLI release took
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
)

// getFixture builds the fixture on first use; later callers share it.
func getFixture(t *testing.T) *fixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the fixture releases need a git repository")
	}
	fxOnce.Do(func() {
		start := time.Now()
		var dir string
		if dir, fxErr = scratch(); fxErr != nil {
			return
		}
		fx, fxErr = newFixture(filepath.Join(dir, "fixture"))
		if fxErr == nil {
			t.Logf("fixture: CLI built and three releases made in %v (CLI release %v)", time.Since(start).Round(time.Millisecond), fx.curDuration.Round(time.Millisecond))
		}
	})
	if fxErr != nil {
		t.Fatalf("fixture: %v", fxErr)
	}
	return fx
}

func newFixture(dir string) (*fixture, error) {
	f := &fixture{inprocLogs: &lockedBuffer{}, password: "hx-pw-" + randomHex(12)}
	if err := f.makeKeys(filepath.Join(dir, "keys")); err != nil {
		return nil, err
	}
	srcOld, src, srcTwin := filepath.Join(dir, "src-old"), filepath.Join(dir, "src"), filepath.Join(dir, "src-twin")
	if err := makeRepos(srcOld, src, srcTwin); err != nil {
		return nil, err
	}
	f.src = src
	f.cur, f.old, f.twin = filepath.Join(dir, "cur"), filepath.Join(dir, "old"), filepath.Join(dir, "twin")
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() {
		if errs[0] = f.buildCLI(filepath.Join(dir, "bin")); errs[0] == nil {
			errs[0] = f.releaseCLI()
		}
	})
	wg.Go(func() { errs[1] = f.releaseInProcess(srcOld, f.old, oldVersion) })
	wg.Go(func() { errs[2] = f.releaseInProcess(srcTwin, f.twin, curVersion) })
	wg.Wait()
	return f, errors.Join(errs...)
}

func (f *fixture) makeKeys(dir string) error {
	var err error
	if f.key, err = keys.Generate(); err != nil {
		return err
	}
	if f.other, err = keys.Generate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files, err := keys.Write(filepath.Join(dir, "release"), f.key, keys.WithPassword(keys.StaticPassword([]byte(f.password))))
	if err != nil {
		return err
	}
	f.keyFile, f.pubFile, f.pwFile = files.Private, files.Public, filepath.Join(dir, "password")
	return os.WriteFile(f.pwFile, []byte(f.password+"\n"), 0o600)
}

// makeRepos makes three repositories of the multi test project: the older release's
// commit, the current one (a later commit), and a twin (another commit after the first).
func makeRepos(old, cur, twin string) error {
	if err := buildtest.CopyTree(filepath.Join(buildtest.ProjectsDir(), "multi"), old); err != nil {
		return err
	}
	if err := commitAll(old, "feat: first release", time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	for _, c := range []struct{ dir, change, msg string }{
		{cur, "// Later is a change after the first release.\nconst Later = 1\n", "fix: a later change"},
		{twin, "// Twin is another change, released under the same version.\nconst Twin = 2\n", "fix: a twin change"},
	} {
		if err := os.CopyFS(c.dir, os.DirFS(old)); err != nil {
			return err
		}
		greet := filepath.Join(c.dir, "internal", "greet", "greet.go")
		data, err := os.ReadFile(greet)
		if err != nil {
			return err
		}
		if err := os.WriteFile(greet, append(data, c.change...), 0o644); err != nil {
			return err
		}
		if err := commitAll(c.dir, c.msg, time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)); err != nil {
			return err
		}
	}
	return nil
}

// commitAll initialises dir as a repository (if it is not one) and commits everything in it.
func commitAll(dir, msg string, when time.Time) error {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		if err := git(dir, when, "init", "-q", "-b", "main"); err != nil {
			return err
		}
	}
	if err := git(dir, when, "add", "-A"); err != nil {
		return err
	}
	return git(dir, when, "commit", "-q", "-m", msg)
}

func git(dir string, when time.Time, args ...string) error {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	date := when.Format(time.RFC3339)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C", "TZ=UTC",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ada Tester", "GIT_AUTHOR_EMAIL=ada@example.test", "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=Ada Tester", "GIT_COMMITTER_EMAIL=ada@example.test", "GIT_COMMITTER_DATE=" + date,
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// buildCLI compiles cmd/reliquary from this tree: the tests run the real binary, as users do.
func (f *fixture) buildCLI(dir string) error {
	f.bin = filepath.Join(dir, "reliquary")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", f.bin, "github.com/sentientos/reliquary/cmd/reliquary")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build cmd/reliquary: %v\n%s", err, out)
	}
	return nil
}

// releaseCLI makes the current release with `reliquary release`, the key read from its
// encrypted file with a password file, logs as JSON.
func (f *fixture) releaseCLI() error {
	start := time.Now()
	res := f.run(context.Background(), "release", "--source", f.src, "--version", curVersion, "--key", f.keyFile,
		"--password-file", f.pwFile, "--out", f.cur, "--platforms", platform, "--log-format", "json")
	f.curDuration = time.Since(start)
	f.curStdout, f.curStderr = []byte(res.stdout), []byte(res.stderr)
	if res.code != 0 {
		return fmt.Errorf("reliquary release: exit %d: %v\n%s", res.code, res.err, res.stderr)
	}
	return nil
}

// releaseInProcess makes a release with release.Run, the key loaded from its encrypted file.
func (f *fixture) releaseInProcess(src, out, version string) error {
	key, err := keys.Load(f.keyFile, keys.StaticPassword([]byte(f.password)))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(f.inprocLogs, nil))
	_, err = release.Run(context.Background(), release.Input{Source: src, Out: out, Version: version, Key: key, Platforms: []string{platform}}, release.WithLogger(log))
	if err != nil {
		return fmt.Errorf("release %s: %w", version, err)
	}
	return nil
}

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
	err            error // set when the command could not run or was killed
}

// run runs the CLI with args. The environment carries no password: keys come with
// --password-file, as the tests say.
func (f *fixture) run(ctx context.Context, args ...string) result {
	r, _ := f.runWatched(ctx, nil, args...)
	return r
}

// runWatched is run with a watcher of the running process: when watch returns true the
// process is killed, and runWatched says so.
func (f *fixture) runWatched(ctx context.Context, watch func(pid int, exited <-chan struct{}) bool, args ...string) (result, bool) {
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return result{code: -1, err: err}, false
	}
	exited := make(chan struct{})
	var err error
	go func() {
		err = cmd.Wait()
		close(exited)
	}()
	killed := false
	if watch != nil && watch(cmd.Process.Pid, exited) {
		cmd.Process.Kill()
		killed = true
	}
	<-exited
	return toResult(err, out.String(), errb.String()), killed
}

func toResult(err error, stdout, stderr string) result {
	r := result{stdout: stdout, stderr: stderr}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		r.code, r.err = -1, err
	}
	return r
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, keys.EnvPassword+"=") && !strings.HasPrefix(kv, keys.EnvCosignPassword+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// lockedBuffer is a bytes.Buffer safe for the concurrent releases' loggers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
