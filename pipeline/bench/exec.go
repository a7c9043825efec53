package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// tailSize is how much of a failing command's output an error quotes.
const tailSize = 2048

// tail keeps the last tailSize bytes written to it.
type tail struct{ buf []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.buf)) }

// capped keeps the first max bytes written to it and notes whether more came; it never
// fails a write, so the child is not killed by a broken pipe before we can report why.
type capped struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.overflow = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

// runOutput runs cmd and returns its standard output, at most max bytes. A failure quotes
// the end of the output, which is where `go` and test binaries say what went wrong.
func runOutput(cmd *exec.Cmd, max int, what string) ([]byte, error) {
	out := &capped{max: max}
	errTail := &tail{}
	cmd.Stdout = out
	cmd.Stderr = errTail
	if err := cmd.Run(); err != nil {
		msg := errTail.String()
		if msg == "" {
			t := &tail{}
			t.Write(out.buf.Bytes())
			msg = t.String()
		}
		return nil, fmt.Errorf("bench: %s: %w\n%s", what, err, msg)
	}
	if out.overflow {
		return nil, fmt.Errorf("%w: %s: output larger than the %d-byte limit", ErrMalformed, what, max)
	}
	return out.buf.Bytes(), nil
}

// toolchain runs the go command. Both sides of a comparison are built by the same toolchain:
// GOTOOLCHAIN is pinned to "local" unless the caller's environment names one, so a baseline
// whose go.mod asks for another Go version does not silently switch compilers.
type toolchain struct {
	goBin string
	env   []string
}

func newToolchain(goBin string) *toolchain {
	if goBin == "" {
		goBin = "go"
	}
	env := os.Environ()
	if os.Getenv("GOTOOLCHAIN") == "" {
		env = append(env, "GOTOOLCHAIN=local")
	}
	return &toolchain{goBin: goBin, env: env}
}

func (t *toolchain) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, t.goBin, args...)
	cmd.Dir = dir
	cmd.Env = t.env
	return cmd
}

// output runs go with args in dir and returns its standard output.
func (t *toolchain) output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	what := "go " + strings.Join(args, " ") + " (in " + dir + ")"
	return runOutput(t.command(ctx, dir, args...), MaxOutput, what)
}
