package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// TestReleaseOnATerminal runs `reliquary release` under a pseudo-terminal: the terminal
// shows the live stage list (every stage ticked, the build's platforms) and the summary,
// not log lines, and the detailed log is JSON in OUT.log. Through a pipe, as in CI, stderr
// carries the text log and no terminal control sequence. Then `reliquary replay` of it.
func TestReleaseOnATerminal(t *testing.T) {
	noPasswordEnv(t)
	bin := reliquaryBinary(t)
	src, _ := scratchRepo(t)
	keyDir := t.TempDir()
	runProcess(t, bin, "keygen", "--no-password", filepath.Join(keyDir, "release"))
	args := func(out string) []string {
		return []string{"release", "--source", src, "--version", "v0.4.0", "--key", filepath.Join(keyDir, "release.key"),
			"--out", out, "--platforms", "linux/amd64,windows/amd64", "--binary-cache", filepath.Join(keyDir, "bin")}
	}

	out := filepath.Join(t.TempDir(), "dist")
	screen := runInPty(t, exec.Command(bin, args(out)...))
	for _, want := range []string{"✓ source", "✓ build", "2/2 platforms: linux/amd64 ✓, windows/amd64 ✓", "✓ verify",
		"released multi v0.4.0 into " + out, "reliquary verify " + out, "detailed log: " + out + ".log"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "level=INFO") {
		t.Errorf("log lines reached the terminal:\n%s", screen)
	}
	logData, err := os.ReadFile(out + ".log")
	if err != nil || !bytes.Contains(logData, []byte(`"msg":"stage end","stage":"verify"`)) {
		t.Errorf("the log file lacks the verify stage's end (%v):\n%.2000s", err, logData)
	}

	piped := filepath.Join(t.TempDir(), "dist")
	cmd := exec.Command(bin, args(piped)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("release through a pipe: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `level=INFO msg="stage end" stage=verify`) || strings.Contains(stderr.String(), "\x1b[") {
		t.Errorf("through a pipe, stderr is not the plain log:\n%s", stderr.String())
	}
	if _, err := os.Stat(piped + ".log"); err == nil {
		t.Errorf("a log file was written without a terminal")
	}

	// A replay of that release shows its own stages and verdict the same way.
	replayLog := filepath.Join(t.TempDir(), "replay.log")
	screen = runInPty(t, exec.Command(bin, "replay", out, "--source", src, "--key", filepath.Join(keyDir, "release.pub"),
		"--reuse-build-cache", "--log-file", replayLog))
	for _, want := range []string{"✓ verify", "✓ freeze", "2/2 platforms", "✓ compare", "reproduced multi v0.4.0 from " + src, "detailed log: " + replayLog} {
		if !strings.Contains(screen, want) {
			t.Errorf("the replay's terminal does not show %q:\n%s", want, screen)
		}
	}
	if logData, err := os.ReadFile(replayLog); err != nil || !bytes.Contains(logData, []byte(`"msg":"stage end","stage":"compare"`)) {
		t.Errorf("the replay's log file lacks the compare stage's end (%v):\n%.2000s", err, logData)
	}
}

// runInPty runs cmd with a pseudo-terminal as its stdin, stdout and stderr, and returns
// everything it wrote.
func runInPty(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, f)
	if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the child closed the terminal
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, buf.String())
	}
	return buf.String()
}

// TestBenchOnATerminal runs `reliquary bench` against a baseline under a pseudo-terminal:
// the live list shows its stages and the rounds as they go, then the gate's summary; the
// detailed log is JSON in --log-file; the results table still goes to stdout.
func TestBenchOnATerminal(t *testing.T) {
	proj := benchRepo(t)
	bin := reliquaryBinary(t)
	dir := t.TempDir()
	out, logFile := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.log")
	screen := runInPty(t, exec.Command(bin, "bench", "--source", proj, "--bench", "^BenchmarkWork$", "--count", "8",
		"--benchtime", "100x", "--baseline-ref", "v0.9.0", "--out", out, "--log-file", logFile))
	for _, want := range []string{"▸ measure", "round 1/8", "round 8/8", "✓ compile", "✓ measure", "✓ compare",
		"measured 1 benchmark(s) against v0.9.0: gate passed, 0 regression(s); wrote " + out, "detailed log: " + logFile, "gate: passed"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "level=INFO") {
		t.Errorf("log lines reached the terminal:\n%s", screen)
	}
	if logData, err := os.ReadFile(logFile); err != nil || !bytes.Contains(logData, []byte(`"msg":"stage end","stage":"compare"`)) {
		t.Errorf("the bench log file lacks the compare stage's end (%v):\n%.2000s", err, logData)
	}
}
