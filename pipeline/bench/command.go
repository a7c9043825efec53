package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// CommandPackage prefixes the Package of a command benchmark's series, so they sort apart
// from Go benchmarks and cannot collide with an import path.
const CommandPackage = "command:"

// DefaultCommandTimeout bounds one run of a command benchmark.
const DefaultCommandTimeout = time.Minute

// Command is a command benchmark: a main package of the project, built on each side, run and
// timed once per round. With Ready set it is a daemon: a run ends when a line of its output
// matches, and the process is then killed, so sec/op is its start-up time.
type Command struct {
	Name    string        // the series name, e.g. "ServeStartup"
	Package string        // the main package, relative to the source: "./cmd/server"
	Args    []string      // its arguments
	Ready   string        // a regexp matched against each line of stdout and stderr; "" to time the whole run
	Timeout time.Duration // per run; 0 means DefaultCommandTimeout
}

func (c *Command) validate() error {
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, " \t\n"):
		return fmt.Errorf("bench: command name %q: must be non-empty without spaces", c.Name)
	case c.Package == "" || strings.HasPrefix(c.Package, "-"):
		return fmt.Errorf("bench: command %s: package %q must be non-empty and not start with '-'", c.Name, c.Package)
	case c.Timeout < 0:
		return fmt.Errorf("bench: command %s: negative timeout", c.Name)
	}
	if _, err := regexp.Compile(c.Ready); err != nil {
		return fmt.Errorf("bench: command %s: ready pattern: %w", c.Name, err)
	}
	return nil
}

func (c *Command) config() CommandConfig {
	return CommandConfig{Name: c.Name, Package: c.Package, Args: c.Args, Ready: c.Ready}
}

// buildCommand builds c's main package from the module at dir into out.
func (t *toolchain) buildCommand(ctx context.Context, dir, out string, c *Command) error {
	_, err := t.output(ctx, dir, "build", "-trimpath", "-o", out, c.Package)
	return err
}

// invocation is where one run of a command benchmark happens.
type invocation struct {
	bin    string // the built command
	dir    string // working directory: the side's module
	source string // names the run in errors
}

// runCommand times one run of c. The result carries wall time (sec/op) and the process's CPU
// time (user-sec/op, sys-sec/op).
func runCommand(ctx context.Context, c *Command, at invocation) (Result, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, at.bin, c.Args...)
	cmd.Dir = at.dir
	var elapsed time.Duration
	var err error
	if c.Ready == "" {
		elapsed, err = timeRun(cmd)
	} else {
		elapsed, err = timeReady(ctx, cmd, regexp.MustCompile(c.Ready))
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %v: %w", timeout, err)
		}
		return Result{}, fmt.Errorf("bench: %s: %w", at.source, err)
	}
	st := cmd.ProcessState
	return Result{Package: CommandPackage + c.Package, Name: c.Name, Iters: 1, Values: []Value{
		{Value: elapsed.Seconds(), Unit: "sec/op"},
		{Value: st.UserTime().Seconds(), Unit: "user-sec/op"},
		{Value: st.SystemTime().Seconds(), Unit: "sys-sec/op"},
	}}, nil
}

// timeRun runs cmd to completion; it must exit 0.
func timeRun(cmd *exec.Cmd) (time.Duration, error) {
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, out.String())
	}
	return elapsed, nil
}

// timeReady starts cmd and returns the time until a line of its output matches ready. The
// process is killed then; how it exits after that does not matter.
func timeReady(ctx context.Context, cmd *exec.Cmd, ready *regexp.Regexp) (time.Duration, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return 0, err
	}
	w := &watcher{found: make(chan time.Time, 1), done: make(chan struct{})}
	go w.scan(pr, ready)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case at := <-w.found:
		_ = cmd.Process.Kill()
		<-exited
		return at.Sub(start), nil
	case err := <-exited:
		// The ready line may still be in the pipe; give the scanner a moment to reach it.
		select {
		case at := <-w.found:
			return at.Sub(start), nil
		case <-w.done:
		case <-time.After(time.Second):
		}
		if err == nil {
			err = errors.New("exited")
		}
		return 0, fmt.Errorf("%w before printing a line matching %q\n%s", err, ready, w.output())
	case <-ctx.Done():
		<-exited // CommandContext kills it
		return 0, fmt.Errorf("no line matching %q\n%s", ready, w.output())
	}
}

// watcher scans a daemon's output for the ready line, keeping its tail for errors.
type watcher struct {
	found chan time.Time
	done  chan struct{}
	mu    sync.Mutex
	tail  tail
}

func (w *watcher) scan(f *os.File, ready *regexp.Regexp) {
	defer close(w.done)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	matched := false
	for sc.Scan() {
		line := sc.Bytes()
		if !matched && ready.Match(line) {
			matched = true
			w.found <- time.Now()
		}
		w.mu.Lock()
		w.tail.Write(append(line, '\n'))
		w.mu.Unlock()
	}
	// A line over the scanner's limit ends the scan; keep draining so the process never
	// blocks on a full pipe.
	_, _ = io.Copy(io.Discard, f)
}

func (w *watcher) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tail.String()
}
