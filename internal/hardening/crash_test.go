package hardening_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killPoint is when a crash run sends SIGKILL: after a delay from the start, or a small
// random delay after a stage event appears in the JSON log.
type killPoint struct {
	delay time.Duration // from the event, or from the start when there is no event
	frac  float64       // without an event: where in the first part of the run (set delay)
	stage string        // the stage whose event triggers the kill
	event string        // "stage start" or "stage end"
}

func (k killPoint) String() string {
	if k.event == "" {
		return fmt.Sprintf("after %v", k.delay.Round(time.Millisecond))
	}
	return fmt.Sprintf("%v after %s %s", k.delay.Round(time.Millisecond), k.event, k.stage)
}

// TestReleaseSurvivesSIGKILL kills `reliquary release` (its whole process group, builds
// included) at random moments and in randomly chosen late stages. After each kill the
// output directory is absent, or rejected by the gate, or a complete release (the kill came
// after the final rename). A re-run with the same --out then succeeds and verifies, whatever
// staging directories the killed runs left.
func TestReleaseSurvivesSIGKILL(t *testing.T) {
	fx := getFixture(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	points := crashPoints(t, rng, stagesOf(fx.curStderr))
	dir := filepath.Join(t.TempDir(), "crash")
	out := filepath.Join(dir, "dist")
	want := fileList(t, fx.cur)
	start := time.Now()
	var full time.Duration // how long a release runs here: the first run goes to the end
	for i, p := range points {
		if p.event == "" {
			// A random moment in the first 3 s, or the first 90% of a run if shorter.
			span := min(3*time.Second, full*9/10) - 50*time.Millisecond
			p.delay = 50*time.Millisecond + time.Duration(p.frac*float64(max(span, 0)))
		}
		began := time.Now()
		r := crashRun(t, fx, out, p)
		if i == 0 {
			full = time.Since(began)
		}
		state := inspectOutput(t, fx, out, want)
		t.Logf("kill %d %-34s last stage %-16s exit %-6s output: %s", i+1, p, r.lastStage, r.exit, state)
		if r.completed || state == stateComplete {
			os.RemoveAll(out) // a finished release: make room for the next run
		}
	}
	staged, _ := filepath.Glob(filepath.Join(dir, ".dist.tmp-*"))
	res := fx.run(t.Context(), releaseArgs(fx, out)...)
	if res.code != 0 {
		t.Fatalf("re-run after %d kills (%d staging directories left): exit %d\n%s", len(points), len(staged), res.code, res.stderr)
	}
	if v := fx.run(t.Context(), "verify", out, "--key", fx.pubFile); v.code != 0 {
		t.Fatalf("the re-run's release does not verify: exit %d\n%s", v.code, v.stdout)
	}
	if got := fileList(t, out); !slices.Equal(got, want) {
		t.Fatalf("the re-run's release has files %v, want %v", got, want)
	}
	t.Logf("%d kills and a re-run in %v; %d staging directories were left by killed runs", len(points), time.Since(start).Round(time.Millisecond), len(staged))
}

// crashPoints: one kill right after the gate's end, around the final rename (it goes first,
// and times a whole run), three a few milliseconds into randomly chosen stages after the
// build, and two at random times in the first 3 s (source, freeze, build), which leave no
// output in the way of the re-run.
func crashPoints(t *testing.T, rng *rand.Rand, stages []string) []killPoint {
	t.Helper()
	build := slices.Index(stages, "build")
	if build < 0 || build == len(stages)-1 || stages[len(stages)-1] != "verify" {
		t.Fatalf("the release's stages %v lack build, a stage after it, or verify last", stages)
	}
	late := slices.Clone(stages[build+1:])
	rng.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
	points := []killPoint{{stage: "verify", event: "stage end"}}
	for _, s := range late[:min(3, len(late))] {
		points = append(points, killPoint{stage: s, event: "stage start", delay: time.Duration(rng.IntN(30)) * time.Millisecond})
	}
	for range 2 {
		points = append(points, killPoint{frac: rng.Float64()})
	}
	return points
}

// stagesOf lists the stages a release logged as started, in order, from its JSON log.
func stagesOf(log []byte) []string {
	var stages []string
	for _, line := range strings.Split(string(log), "\n") {
		var ev struct{ Msg, Stage string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Msg == "stage start" && !slices.Contains(stages, ev.Stage) {
			stages = append(stages, ev.Stage)
		}
	}
	return stages
}

func releaseArgs(fx *fixture, out string) []string {
	return []string{"release", "--source", fx.src, "--version", curVersion, "--key", fx.keyFile,
		"--password-file", fx.pwFile, "--out", out, "--platforms", platform, "--log-format", "json"}
}

type crashResult struct {
	lastStage string
	exit      string
	completed bool // the release finished before the kill
}

// crashRun starts a release in its own process group and SIGKILLs the group at p.
func crashRun(t *testing.T, fx *fixture, out string, p killPoint) crashResult {
	t.Helper()
	cmd := exec.Command(fx.bin, releaseArgs(fx, out)...)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var mu sync.Mutex
	var res crashResult
	events := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var ev struct{ Msg, Stage string }
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			mu.Lock()
			if ev.Msg == "stage start" {
				res.lastStage = ev.Stage
			}
			mu.Unlock()
			if p.event != "" && ev.Msg == p.event && ev.Stage == p.stage {
				select {
				case events <- struct{}{}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	if p.event == "" {
		time.AfterFunc(p.delay, kill)
	} else {
		go func() {
			<-events
			time.Sleep(p.delay)
			kill()
		}()
	}
	err = cmd.Wait()
	kill() // whatever of the group is left (go build children of a finished run: none)
	mu.Lock()
	defer mu.Unlock()
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.exit, res.completed = "0", true
	case errors.As(err, &ee) && !ee.Exited():
		res.exit = "killed"
	case errors.As(err, &ee):
		res.exit = fmt.Sprint(ee.ExitCode())
		t.Errorf("the release failed by itself (exit %d) before the kill at %s", ee.ExitCode(), p)
	default:
		t.Fatal(err)
	}
	return res
}

const (
	stateAbsent   = "absent"
	stateRejected = "present, rejected by the gate"
	stateComplete = "present, complete and verified (killed after the rename)"
)

// inspectOutput checks the invariant: the output is absent, rejected by `reliquary verify`,
// or a complete release with every file of the fixture's.
func inspectOutput(t *testing.T, fx *fixture, out string, want []string) string {
	t.Helper()
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return stateAbsent
	}
	v := fx.run(t.Context(), "verify", out, "--key", fx.pubFile)
	switch {
	case v.code == 1:
		return stateRejected
	case v.code != 0:
		t.Errorf("reliquary verify of the killed release's output: exit %d\n%s", v.code, v.stderr)
		return "unverifiable"
	}
	if got := fileList(t, out); !slices.Equal(got, want) {
		t.Errorf("a killed release left an output the gate accepts but that is incomplete: %v, want %v", got, want)
		return "INCOMPLETE BUT ACCEPTED"
	}
	return stateComplete
}

func fileList(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
