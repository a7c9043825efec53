package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
)

// notesRepo is a project with v0.9.0, conventional commits, and v1.0.0-rc.1 at HEAD.
func notesRepo(t *testing.T) *gittest.Repo {
	g := gittest.New(t)
	g.Commit("chore: initial import")
	g.Tag("v0.9.0")
	g.Commit("feat(cli): add --json")
	g.Commit("fix: report every drifted artifact")
	g.Commit("feat(api)!: rename Verify to Check")
	g.Commit("Update the README")
	g.AnnotatedTag("v1.0.0-rc.1")
	return g
}

func TestNotesCommand(t *testing.T) {
	g := notesRepo(t)
	dir := testbundle.New(t, testbundle.Default()) // project app, version v1.0.0
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "RELEASE_NOTES.md")
	cl := filepath.Join(g.Dir, "CHANGELOG.md")
	entry := filepath.Join(t.TempDir(), "entry.md")
	code, stdout, stderr := cli(t, "notes", "--source", g.Dir, "--version", "v1.0.0", "--commit", "v1.0.0-rc.1",
		"--bundle", dir, "--bundle-name", "app-1.0.0", "--out", out, "--changelog", cl, "--changelog-entry", entry)
	if code != 0 {
		t.Fatalf("notes exit %d: %s", code, stderr)
	}
	if stdout != out+"\n"+cl+"\n"+entry+"\n" {
		t.Errorf("stdout = %q, want the written paths", stdout)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{
		"# app v1.0.0\n", "4 commits since v0.9.0.", "## Breaking changes\n\n- **feat(api):** rename Verify to Check",
		"## Features\n\n- **cli:** add --json", "## Other changes\n\n- Update the README",
		"`" + key.PublicKey().Fingerprint() + "`", "artifacts/app_v1.0.0_linux_amd64.tar.gz", "reliquary verify app-1.0.0 --key release.pub",
		"--type slsaprovenance1 app-1.0.0/artifacts/app_v1.0.0_linux_amd64.tar.gz\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("notes lack %q:\n%s", want, s)
		}
	}
	changelogMD, _ := os.ReadFile(cl)
	entryMD, _ := os.ReadFile(entry)
	if !strings.HasPrefix(string(changelogMD), "# Changelog\n") || !strings.Contains(string(changelogMD), string(entryMD)) ||
		!strings.HasPrefix(string(entryMD), "## [1.0.0] - ") {
		t.Errorf("changelog:\n%s\nentry:\n%s", changelogMD, entryMD)
	}

	// Again: the changelog already has v1.0.0, so nothing is written.
	os.Remove(out)
	code, _, stderr = cli(t, "notes", "--source", g.Dir, "--version", "v1.0.0", "--commit", "v1.0.0-rc.1", "--out", out, "--changelog", cl)
	if code != exitUsage || !strings.Contains(stderr, "already has this version") {
		t.Errorf("second run: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("notes were written although the changelog step refused")
	}
}

func TestNotesCommandStdout(t *testing.T) {
	g := notesRepo(t)
	code, stdout, stderr := cli(t, "notes", "--source", g.Dir, "--version", "v1.0.0-rc.1", "--hide-types", "chore", "--group", "Docs=docs")
	if code != 0 || !strings.HasPrefix(stdout, "# v1.0.0-rc.1\n") || !strings.Contains(stdout, "reliquary verify dist --key release.pub\n") {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
}

func TestNotesCommandRefuses(t *testing.T) {
	g := notesRepo(t)
	bundleDir := testbundle.New(t, testbundle.Default())
	section := filepath.Join(t.TempDir(), "bench.md")
	os.WriteFile(section, []byte(strings.Repeat("x", 1<<20+1)), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no version", nil, "--version is required"},
		{"not semver", []string{"--version", "1.0"}, "not a vMAJOR.MINOR.PATCH"},
		{"rc10", []string{"--version", "v1.0.0-rc10"}, "write rc.10, not rc10"},
		{"not greater", []string{"--version", "v0.9.1"}, "not greater than v1.0.0-rc.1"},
		{"tag elsewhere", []string{"--version", "v0.9.0"}, "tag already exists"},
		{"no commits", []string{"--version", "v1.0.0-rc.2"}, "nothing changed between the previous release v1.0.0-rc.1"},
		{"missing previous", []string{"--version", "v1.0.0", "--previous-tag", "v0.8.0"}, `previous release tag "v0.8.0" not found`},
		{"bundle of another version", []string{"--version", "v1.0.0-rc.1", "--bundle", bundleDir}, "holds version v1.0.0, not v1.0.0-rc.1"},
		{"not a repository", []string{"--version", "v1.0.0", "--source", t.TempDir()}, "not a git repository"},
		{"bad key", []string{"--version", "v1.0.0", "--key", section}, "--key"},
		{"huge section", []string{"--version", "v1.0.0", "--section", "Bench=" + section}, "limit"},
		{"bad group", []string{"--version", "v1.0.0", "--group", "Docs"}, "TITLE=type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"notes", "--source", g.Dir}, tc.args...)
			code, _, stderr := cli(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, exitUsage, tc.msg)
			}
		})
	}
	// Forced: an older line is accepted.
	g.Git("checkout", "-q", "-b", "v0.9", "v0.9.0")
	g.Commit("fix: backport")
	if code, _, stderr := cli(t, "notes", "--source", g.Dir, "--version", "v0.9.1", "--allow-not-greater-unsafe"); code != 0 {
		t.Errorf("forced v0.9.1: exit %d, %s", code, stderr)
	}
}
