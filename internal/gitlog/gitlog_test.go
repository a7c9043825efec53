package gitlog_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/internal/gitlog/gittest"
)

func open(t *testing.T, dir string) *gitlog.Repo {
	t.Helper()
	r, err := gitlog.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTagsLogAncestry(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	c1 := g.Commit("feat: first")
	g.Tag("v0.9.0")
	c2 := g.Commit("fix: second\n\nbody line\n\nRefs: #1")
	c3 := g.Commit("third, not conventional")
	g.AnnotatedTag("v1.0.0-rc.1")
	g.Git("tag", "tree-tag", "HEAD^{tree}") // a tag of a tree: not a commit, left out

	r := open(t, g.Dir)
	tags, err := r.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []gitlog.Tag{{Name: "v0.9.0", Commit: c1}, {Name: "v1.0.0-rc.1", Commit: c3}}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("Tags = %v, want %v (annotated tag peeled to its commit)", tags, want)
	}

	log, err := r.Log(ctx, "v1.0.0-rc.1", gitlog.Since("v0.9.0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Hash != c3 || log[1].Hash != c2 {
		t.Fatalf("Log = %+v, want [%s %s]", log, c3, c2)
	}
	if log[1].Message != "fix: second\n\nbody line\n\nRefs: #1" || log[1].Subject() != "fix: second" {
		t.Errorf("message = %q", log[1].Message)
	}
	if want := gittest.Epoch.Add(time.Hour); !log[1].Time.Equal(want) || log[1].Time.Location() != time.UTC {
		t.Errorf("time = %v, want %v UTC", log[1].Time, want)
	}
	all, err := r.Log(ctx, "HEAD")
	if err != nil || len(all) != 3 {
		t.Fatalf("whole log: %d commits, %v", len(all), err)
	}
	limited, err := r.Log(ctx, "HEAD", gitlog.Limit(1))
	if err != nil || len(limited) != 1 || limited[0].Hash != c3 {
		t.Fatalf("Limit(1) = %v, %v", limited, err)
	}
	empty, err := r.Log(ctx, "HEAD", gitlog.Since("v1.0.0-rc.1"))
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty range = %v, %v", empty, err)
	}

	for _, tt := range []struct {
		a, b string
		want bool
	}{{c1, c3, true}, {c3, c1, false}, {c2, c2, true}} {
		got, err := r.IsAncestor(ctx, tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("IsAncestor(%.7s, %.7s) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}
	if h, err := r.Resolve(ctx, "v1.0.0-rc.1"); err != nil || h != c3 {
		t.Errorf("Resolve(annotated tag) = %q, %v; want %s", h, err, c3)
	}
	if tm, err := r.CommitTime(ctx, c1); err != nil || !tm.Equal(gittest.Epoch) {
		t.Errorf("CommitTime = %v, %v", tm, err)
	}
	if sh, err := r.IsShallow(ctx); err != nil || sh {
		t.Errorf("IsShallow = %v, %v on a full repository", sh, err)
	}
}

func TestMergesLeftOut(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	g.Commit("feat: base")
	g.Git("checkout", "-q", "-b", "topic")
	side := g.Commit("fix: on a branch")
	g.Git("checkout", "-q", "main")
	g.Commit("feat: on main")
	g.Git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
	r := open(t, g.Dir)
	log, err := r.Log(ctx, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, c := range log {
		subjects = append(subjects, c.Subject())
	}
	if len(log) != 3 || strings.Contains(strings.Join(subjects, "|"), "Merge") {
		t.Errorf("default log = %q, want 3 commits and no merge", subjects)
	}
	found := false
	for _, c := range log {
		found = found || c.Hash == side
	}
	if !found {
		t.Errorf("the merged branch's commit is missing: %q", subjects)
	}
	withMerges, err := r.Log(ctx, "HEAD", gitlog.WithMerges())
	if err != nil || len(withMerges) != 4 || withMerges[0].Subject() != "Merge branch 'topic'" {
		t.Errorf("WithMerges = %d commits, %v", len(withMerges), err)
	}
}

func TestShallow(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	g.Commit("feat: old")
	g.Tag("v0.9.0")
	g.Commit("feat: a")
	g.Commit("fix: b")
	c := g.ShallowClone(2)
	r := open(t, c.Dir)
	sh, err := r.IsShallow(ctx)
	if err != nil || !sh {
		t.Fatalf("IsShallow = %v, %v on a --depth 2 clone", sh, err)
	}
	tags, err := r.Tags(ctx)
	if err != nil || len(tags) != 0 {
		t.Errorf("shallow clone tags = %v, %v; want none (v0.9.0 is outside the cloned history)", tags, err)
	}
	log, err := r.Log(ctx, "HEAD")
	if err != nil || len(log) != 2 {
		t.Errorf("shallow log = %d commits, %v; want 2", len(log), err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := gitlog.Open(ctx, t.TempDir()); !errors.Is(err, gitlog.ErrNotRepository) {
		t.Errorf("Open(empty dir) = %v, want ErrNotRepository", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := gitlog.Open(ctx, file); !errors.Is(err, gitlog.ErrNotRepository) {
		t.Errorf("Open(file) = %v, want ErrNotRepository", err)
	}
	if _, err := gitlog.Open(ctx, t.TempDir(), gitlog.WithGit("/nonexistent/git")); err == nil {
		t.Error("Open with a missing git binary succeeded")
	}
	g := gittest.New(t)
	g.Commit("feat: x")
	r := open(t, g.Dir)
	_, err := r.Resolve(ctx, "v9.9.9")
	var ge *gitlog.Error
	if !errors.As(err, &ge) || !strings.Contains(err.Error(), `"v9.9.9" is not a commit`) {
		t.Errorf("Resolve(missing) = %v", err)
	}
	for _, rev := range []string{"--output=/tmp/x", "a\nb", strings.Repeat("a", 300)} {
		if _, err := r.Resolve(ctx, rev); err == nil {
			t.Errorf("Resolve(%q) accepted", rev)
		}
		if _, err := r.Log(ctx, "HEAD", gitlog.Since(rev)); err == nil {
			t.Errorf("Log(Since(%q)) accepted", rev)
		}
	}
	if _, err := r.IsAncestor(ctx, "nope", "HEAD"); err == nil {
		t.Error("IsAncestor with an unknown revision gave no error")
	}
}

// TestCleanEnvironment checks that the caller's GIT_* variables do not reach git: a
// GIT_DIR pointing elsewhere would otherwise make git read another repository.
func TestCleanEnvironment(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	g.Commit("feat: mine")
	other := gittest.New(t)
	other.Commit("feat: other")
	other.Commit("feat: other 2")
	t.Setenv("GIT_DIR", filepath.Join(other.Dir, ".git"))
	t.Setenv("GIT_CONFIG_PARAMETERS", "'log.showSignature'='true'")
	r := open(t, g.Dir)
	log, err := r.Log(ctx, "HEAD")
	if err != nil || len(log) != 1 || log[0].Subject() != "feat: mine" {
		t.Fatalf("log with a hostile environment = %+v, %v", log, err)
	}
}

// TestRepositoryConfigCannotRunCommands: a repository whose config asks git log to show
// signatures would run its gpg.program, any command, on a signed commit. gitlog's overrides
// keep it from running; the same log run by plain git does run it, so the test can fail.
func TestRepositoryConfigCannotRunCommands(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	marker := filepath.Join(t.TempDir(), "ran")
	script := filepath.Join(t.TempDir(), "fake-gpg")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A <a@example.test> 1700000000 +0000\ncommitter A <a@example.test> 1700000000 +0000\n" +
		"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\nfeat: signed\n"
	obj := filepath.Join(t.TempDir(), "commit")
	if err := os.WriteFile(obj, []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	hash := g.Git("hash-object", "-t", "commit", "-w", obj)
	g.Git("update-ref", "refs/heads/main", hash)
	g.Git("config", "log.showSignature", "true")
	g.Git("config", "gpg.program", script)

	r := open(t, g.Dir)
	log, err := r.Log(ctx, "HEAD")
	if err != nil || len(log) != 1 || log[0].Subject() != "feat: signed" {
		t.Fatalf("log = %+v, %v", log, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("gitlog let the repository's gpg.program run")
	}
	g.Git("log", "-1", "--format=%H") // plain git honours the repository's config
	if _, err := os.Stat(marker); err != nil {
		t.Skip("this git did not run gpg.program for log.showSignature; the override is untested here")
	}
}

// TestOtherOwner: a checkout owned by another user, as a source mounted into a container
// is, is read; plain git refuses it ("dubious ownership"), so the test can fail.
func TestOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the repository another owner")
	}
	g := gittest.New(t)
	want := g.Commit("feat: mine")
	err := filepath.Walk(g.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 4242, 4242)
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", g.Dir, "rev-parse", "HEAD").CombinedOutput(); err == nil {
		t.Logf("plain git read a repository of another owner too (%s): this git has no ownership check", strings.TrimSpace(string(out)))
	}
	got, err := open(t, g.Dir).Resolve(context.Background(), "HEAD")
	if err != nil || got != want {
		t.Fatalf("Resolve(HEAD) in a repository of another owner = %q, %v; want %s", got, err, want)
	}
}

// TestMissingAlternates checks that a clone borrowing objects from a repository that is not
// there (git clone --shared, then the checkout alone is copied, as into a container) gets a
// message that says so and how to fix it, while the same clone beside its source works.
func TestMissingAlternates(t *testing.T) {
	ctx := context.Background()
	g := gittest.New(t)
	g.Commit("feat: x")
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Rename(g.Dir, src); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "-q", "--shared", src, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone --shared: %v\n%s", err, out)
	}
	if _, err := open(t, clone).Resolve(ctx, "HEAD"); err != nil {
		t.Fatalf("a shared clone beside its source: %v", err)
	}
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	_, err := gitlog.Open(ctx, clone)
	if !errors.Is(err, gitlog.ErrMissingAlternates) || !strings.Contains(err.Error(), "git repack -a -d") || !strings.Contains(err.Error(), src) {
		t.Fatalf("Open(clone whose source is gone) = %v, want ErrMissingAlternates naming %s and the fix", err, src)
	}
}
