// Package gitlog reads tags and commits from a local git repository by running the git
// binary. It only reads: no command it runs writes to the repository or opens a network
// connection.
//
// Contract:
//   - git runs with a clean environment: no GIT_* variables from the caller, no system or
//     global configuration, no replace refs, no pager, the C locale, and every transport
//     protocol disallowed, so even a partial clone cannot fetch a missing object.
//   - Output is size-limited; a command whose output exceeds the limit fails rather than
//     filling memory.
//   - Errors name the repository, the git command, and git's own message.
package gitlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MaxOutput bounds the output of one git command.
const MaxOutput = 256 << 20

// ErrNotRepository is returned by Open when dir is not inside a git work tree or repository.
var ErrNotRepository = errors.New("not a git repository")

// ErrMissingAlternates is returned by Open when the repository borrows objects from another
// one (a clone made with --shared or --reference) that is not there, as in a container that
// was given the checkout only.
var ErrMissingAlternates = errors.New("the repository borrows objects from a repository that is not there")

// ErrOutputTooLarge is returned when a git command prints more than MaxOutput bytes.
var ErrOutputTooLarge = errors.New("git output too large")

// Repo is a local git repository read through the git binary.
type Repo struct {
	dir string // absolute path of the work tree (or bare repository)
	git string // absolute path of the git binary
}

// Option adjusts Open.
type Option func(*Repo)

// WithGit runs the given git binary instead of the one found on PATH.
func WithGit(path string) Option { return func(r *Repo) { r.git = path } }

// Open checks that dir is a git repository and that git can read it.
func Open(ctx context.Context, dir string, opts ...Option) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("gitlog: %s: %w", dir, err)
	}
	r := &Repo{dir: abs}
	for _, o := range opts {
		o(r)
	}
	if r.git == "" {
		if r.git, err = exec.LookPath("git"); err != nil {
			return nil, fmt.Errorf("gitlog: the git binary is needed to read %s: %w", dir, err)
		}
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("gitlog: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("gitlog: %s: %w (not a directory)", dir, ErrNotRepository)
	}
	if _, err := r.run(ctx, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRepository, err)
	}
	if err := r.checkAlternates(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// checkAlternates fails, saying how to fix it, when .git/objects/info/alternates names an
// object directory that does not exist: git's own message ("unable to normalize alternate
// object path") does not say that the checkout is the problem or what to do.
func (r *Repo) checkAlternates(ctx context.Context) error {
	out, err := r.run(ctx, "rev-parse", "--path-format=absolute", "--git-path", "objects/info/alternates")
	if err != nil {
		return nil // an old git without --path-format: let the commands report
	}
	file := strings.TrimSpace(string(out))
	data, err := os.ReadFile(file)
	if err != nil {
		return nil // no alternates: the usual case
	}
	for _, line := range strings.Split(string(data), "\n") {
		alt := strings.TrimSpace(line)
		if alt == "" || strings.HasPrefix(alt, "#") {
			continue
		}
		if !filepath.IsAbs(alt) {
			alt = filepath.Join(filepath.Dir(filepath.Dir(file)), alt) // relative to objects/
		}
		if _, err := os.Stat(alt); err != nil {
			shown := file // as the user types it in the checkout, which may be mounted elsewhere here
			if rel, err := filepath.Rel(r.dir, file); err == nil && filepath.IsLocal(rel) {
				shown = rel
			}
			return fmt.Errorf("gitlog: %s: %w: %s lists %s. In the checkout, make the clone self-contained (git repack -a -d && rm %s) or clone without --shared/--reference",
				r.dir, ErrMissingAlternates, shown, alt, shown)
		}
	}
	return nil
}

// Dir is the repository directory Open was given, made absolute.
func (r *Repo) Dir() string { return r.dir }

// env is the whole environment git runs with. PATH is kept so git finds its helpers; HOME
// points nowhere so no user file is read.
func env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=/nonexistent",
		"LC_ALL=C",
		"TZ=UTC",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_NO_REPLACE_OBJECTS=1",
		"GIT_OPTIONAL_LOCKS=0",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_NO_LAZY_FETCH=1",
		"GIT_ALLOW_PROTOCOL=none",
		"GIT_PAGER=cat",
	}
}

// overrides beat the repository's own configuration (command-line settings take
// precedence): no transport, no file-system monitor, and no signature display, whose
// gpg.program a repository's config could point at any command. safe.directory lets git
// read a checkout owned by another user (a source mounted into a container): the ownership
// check guards against a repository's config running commands, which the other overrides
// and the read-only commands used here already rule out.
var overrides = []string{"-c", "protocol.allow=never", "-c", "core.fsmonitor=false", "-c", "log.showSignature=false", "-c", "safe.directory=*"}

// run runs git with args in the repository and returns its standard output.
func (r *Repo) run(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"--no-pager", "-C", r.dir}, args...)
	full = append(overrides[:len(overrides):len(overrides)], full...)
	cmd := exec.CommandContext(ctx, r.git, full...)
	cmd.Env = env()
	cmd.Stdin = nil
	var stdout limitedBuffer
	var stderr limitedBuffer
	stdout.max, stderr.max = MaxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	name := "git " + strings.Join(args, " ")
	if stdout.over {
		return nil, fmt.Errorf("gitlog: %s in %s: %w (over %d bytes)", name, r.dir, ErrOutputTooLarge, MaxOutput)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, &Error{Command: name, Dir: r.dir, Msg: msg, err: err}
	}
	return stdout.Bytes(), nil
}

// Error is a git command that failed; Msg is git's own message.
type Error struct {
	Command string
	Dir     string
	Msg     string
	err     error
}

func (e *Error) Error() string { return fmt.Sprintf("gitlog: %s in %s: %s", e.Command, e.Dir, e.Msg) }
func (e *Error) Unwrap() error { return e.err }

// exitCode returns the exit status of a failed git command, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// limitedBuffer keeps at most max bytes and remembers that more were offered.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil // keep draining so git does not block on a full pipe
	}
	return b.Buffer.Write(p)
}
