// Package gittest builds throwaway git repositories for tests: commits with fixed author and
// committer dates, lightweight and annotated tags, and shallow clones. It runs the git binary
// with a clean environment and skips the test when git is not installed.
package gittest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Epoch is the date of the first commit Commit makes; each later commit is an hour later.
var Epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Repo is a git repository in a temporary directory.
type Repo struct {
	t    testing.TB
	Dir  string
	next time.Time
}

// New makes an empty repository with one branch, main, in a temporary directory.
func New(t testing.TB) *Repo {
	t.Helper()
	return NewIn(t, t.TempDir())
}

// NewIn makes an empty repository in dir, which outlives the test when it is not one of
// t's temporary directories: a template to Copy from in later tests.
func NewIn(t testing.TB, dir string) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed; gitlog tests need it")
	}
	r := &Repo{t: t, Dir: dir, next: Epoch}
	r.Git("init", "-q", "-b", "main")
	return r
}

// Copy copies the repository into a temporary directory of t; building a repository once
// and copying it is much faster than running git for every commit in every test.
func (r *Repo) Copy(t testing.TB) *Repo {
	t.Helper()
	c := &Repo{t: t, Dir: t.TempDir(), next: r.next}
	if err := os.CopyFS(c.Dir, os.DirFS(r.Dir)); err != nil {
		t.Fatalf("copy repository: %v", err)
	}
	return c
}

// Git runs git in the repository and returns its trimmed output; a failure fails the test.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return r.GitAt(r.next, args...)
}

// GitAt runs git with author and committer dates set to when.
func (r *Repo) GitAt(when time.Time, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.Dir}, args...)...)
	date := when.Format(time.RFC3339)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + r.Dir, "LC_ALL=C", "TZ=UTC",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ada Tester", "GIT_AUTHOR_EMAIL=ada@example.test", "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=Ada Tester", "GIT_COMMITTER_EMAIL=ada@example.test", "GIT_COMMITTER_DATE=" + date,
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit records an empty commit (branches never conflict) with message msg at the next
// fixed date, and returns its hash.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("commit", "-q", "--allow-empty", "--cleanup=verbatim", "-m", msg)
	r.next = r.next.Add(time.Hour)
	return r.Git("rev-parse", "HEAD")
}

// Tag makes a lightweight tag at HEAD.
func (r *Repo) Tag(name string) { r.t.Helper(); r.Git("tag", name) }

// AnnotatedTag makes an annotated tag at HEAD.
func (r *Repo) AnnotatedTag(name string) {
	r.t.Helper()
	r.Git("tag", "-a", "-m", "release "+name, name)
}

// Head returns the hash of HEAD.
func (r *Repo) Head() string { r.t.Helper(); return r.Git("rev-parse", "HEAD") }

// ShallowClone clones the repository through a file:// URL with the given depth into a new
// temporary directory, fetching all tags that point into the cloned history.
func (r *Repo) ShallowClone(depth int) *Repo {
	r.t.Helper()
	c := &Repo{t: r.t, Dir: r.t.TempDir(), next: r.next}
	c.Git("clone", "-q", "--no-local", fmt.Sprintf("--depth=%d", depth), "file://"+r.Dir, ".")
	return c
}

// Import appends one empty commit per message to main in a single git fast-import run, an
// hour apart like Commit; for histories too long to build one git commit at a time.
func (r *Repo) Import(messages []string) {
	r.t.Helper()
	var b strings.Builder
	parent := ""
	if out, err := exec.Command("git", "-C", r.Dir, "rev-parse", "--verify", "-q", "refs/heads/main").Output(); err == nil {
		parent = strings.TrimSpace(string(out))
	}
	for i, msg := range messages {
		when := r.next.Unix()
		fmt.Fprintf(&b, "commit refs/heads/main\nauthor Ada Tester <ada@example.test> %d +0000\ncommitter Ada Tester <ada@example.test> %d +0000\ndata %d\n%s\n", when, when, len(msg), msg)
		if i == 0 && parent != "" {
			fmt.Fprintf(&b, "from %s\n", parent)
		}
		r.next = r.next.Add(time.Hour)
	}
	cmd := exec.Command("git", "-C", r.Dir, "fast-import", "--quiet")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.Dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	r.Git("reset", "-q", "--hard", "refs/heads/main")
}
