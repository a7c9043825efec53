package freeze

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// maxOutput bounds what one go command may print before it is treated as a failure.
const maxOutput = 64 << 20

// goCmd runs the go command in a module directory with a fixed environment.
type goCmd struct {
	bin string
	dir string
	env []string
}

// result is a finished go command: its outputs and exit code (0 on success).
type result struct {
	stdout, stderr []byte
	code           int
}

// run runs go with args. A non-zero exit is not an error (callers read the code); failing
// to start, or output over maxOutput, is.
func (g goCmd) run(ctx context.Context, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stdout.over || stderr.over {
		return result{}, fmt.Errorf("go %s: output over %d bytes", strings.Join(args, " "), maxOutput)
	}
	res := result{stdout: stdout.b.Bytes(), stderr: stderr.b.Bytes()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		return result{}, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return res, nil
}

// message is the command's stderr trimmed for an error message.
func (r result) message() string {
	msg := strings.TrimSpace(string(r.stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(r.stdout))
	}
	if len(msg) > 4000 {
		msg = msg[:4000] + "..."
	}
	return msg
}

type limitedBuffer struct {
	b    bytes.Buffer
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > maxOutput {
		l.over = true
		return 0, errors.New("output too large")
	}
	return l.b.Write(p)
}

// freezeEnv is the environment of the freeze step: the caller's, so that GOPROXY, GOPRIVATE,
// GONOSUMDB, credentials and the Go env file still apply to downloading, but with the
// settings that decide what is resolved fixed: no workspace, the local toolchain only,
// read-only go.mod, and no inherited GOFLAGS (an env file's GOFLAGS is overridden too,
// since the environment wins over it).
func freezeEnv(modCache string) []string {
	fixed := map[string]string{
		"GOFLAGS":     "-mod=readonly",
		"GOWORK":      "off",
		"GOTOOLCHAIN": "local",
	}
	if modCache != "" {
		fixed["GOMODCACHE"] = modCache
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := fixed[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range fixed {
		env = append(env, k+"="+v)
	}
	return env
}

// overrideToolchain returns env with GOTOOLCHAIN set to v.
func overrideToolchain(env []string, v string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOTOOLCHAIN=") {
			out = append(out, kv)
		}
	}
	return append(out, "GOTOOLCHAIN="+v)
}
