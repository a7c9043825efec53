package notes_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/version"
)

// The commits between v0.9.0 and v1.0.0-rc.1 of the test repository, oldest first.
var rcCommits = []string{
	"feat(cli): add --json output to verify",
	"fix: report every drifted artifact, not only the first\n\nThe gate stopped at the first mismatch.",
	"perf(digest): hash artifacts in parallel",
	"feat(api)!: rename Verify to Check",
	"feat: require Go 1.26\n\nOlder toolchains lack os.Root.\n\nBREAKING CHANGE: building reliquary now needs Go 1.26 or later.",
	"fix(security): refuse symlinks inside a bundle",
	"docs: explain promotion",
	"Update the README",
	"refactor: split the gate into checks",
	"chore(deps): bump sigstore-go to v1.3.0",
	"fix: escape <b>names</b> in | tables",
}

var (
	templateOnce sync.Once
	template     *gittest.Repo
	templateDir  string // made by TestMain, removed after all tests
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "notes-repo-")
	if err != nil {
		panic(err)
	}
	templateDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newRepo returns a fresh copy of the test repository: v0.9.0, the commits above, then
// v1.0.0-rc.1 (annotated), and the rc's commit. The repository is built once.
func newRepo(t *testing.T) (*gittest.Repo, string) {
	t.Helper()
	templateOnce.Do(func() {
		g := gittest.NewIn(t, templateDir)
		g.Commit("chore: initial import")
		g.Commit("feat: verify bundles offline")
		g.Tag("v0.9.0")
		for _, m := range rcCommits {
			g.Commit(m)
		}
		g.AnnotatedTag("v1.0.0-rc.1")
		template = g
	})
	if template == nil {
		t.Fatal("building the test repository failed in an earlier test")
	}
	g := template.Copy(t)
	return g, g.Head()
}

func collect(t *testing.T, dir, v string, opts ...notes.CollectOption) (*notes.History, error) {
	t.Helper()
	repo, err := gitlog.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return notes.Collect(context.Background(), repo, version.MustParse(v), opts...)
}

func subjects(cs []notes.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Description)
	}
	return out
}

func TestCollectRC(t *testing.T) {
	g, rc := newRepo(t)
	h, err := collect(t, g.Dir, "v1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Previous != "v0.9.0" || h.Commit != rc || h.Note != "" {
		t.Errorf("range: previous %q, commit %.12s (want %.12s), note %q", h.Previous, h.Commit, rc, h.Note)
	}
	if want := gittest.Epoch.Add(12 * 3600e9); !h.Date.Equal(want) {
		t.Errorf("date = %v, want the rc commit's %v", h.Date, want)
	}
	if len(h.Changes) != len(rcCommits) {
		t.Fatalf("%d changes, want %d: %q", len(h.Changes), len(rcCommits), subjects(h.Changes))
	}
	if h.Changes[0].Description != "escape <b>names</b> in | tables" {
		t.Errorf("newest change = %q; want newest first", h.Changes[0].Description)
	}

	groups := notes.GroupChanges(h.Changes)
	got := map[string][]string{}
	var order []string
	for _, gr := range groups {
		order = append(order, gr.Title)
		got[gr.Title] = subjects(gr.Changes)
	}
	wantOrder := []string{notes.BreakingTitle, notes.FeaturesTitle, notes.FixesTitle, notes.PerformanceTitle, notes.SecurityTitle, notes.OtherTitle}
	if strings.Join(order, "|") != strings.Join(wantOrder, "|") {
		t.Fatalf("group order = %q, want %q", order, wantOrder)
	}
	want := map[string][]string{
		notes.BreakingTitle:    {"require Go 1.26", "rename Verify to Check"},
		notes.FeaturesTitle:    {"add --json output to verify"},
		notes.FixesTitle:       {"escape <b>names</b> in | tables", "report every drifted artifact, not only the first"},
		notes.PerformanceTitle: {"hash artifacts in parallel"},
		notes.SecurityTitle:    {"refuse symlinks inside a bundle"},
		notes.OtherTitle:       {"bump sigstore-go to v1.3.0", "split the gate into checks", "Update the README", "explain promotion"},
	}
	for title, w := range want {
		if strings.Join(got[title], "|") != strings.Join(w, "|") {
			t.Errorf("%s = %q, want %q", title, got[title], w)
		}
	}
}

func TestGroupOptions(t *testing.T) {
	g, _ := newRepo(t)
	h, err := collect(t, g.Dir, "v1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	groups := notes.GroupChanges(h.Changes,
		notes.WithGroups(notes.Group{Title: "Documentation", Types: []string{"DOCS"}}, notes.Group{Title: "Claims fixes", Types: []string{"fix"}}),
		notes.WithHiddenTypes("chore", "feat"))
	got := map[string][]string{}
	var order []string
	for _, gr := range groups {
		order = append(order, gr.Title)
		got[gr.Title] = subjects(gr.Changes)
	}
	if want := "Breaking changes|Bug fixes|Performance|Security|Documentation|Other changes"; strings.Join(order, "|") != want {
		t.Errorf("order = %q, want %q (hidden feat leaves no Features group; fix stays in Bug fixes)", order, want)
	}
	if o := strings.Join(got[notes.OtherTitle], "|"); o != "split the gate into checks|Update the README" {
		t.Errorf("Other = %q: chore hidden, non-conventional kept", o)
	}
	if b := got[notes.BreakingTitle]; len(b) != 2 {
		t.Errorf("hiding feat hid breaking features: %q", b)
	}
}

// TestCollectFinal: the final release counts only final releases, so promoting the rc at its
// own commit lists everything since v0.9.0.
func TestCollectFinal(t *testing.T) {
	g, rc := newRepo(t)
	h, err := collect(t, g.Dir, "v1.0.0", notes.AtRevision("v1.0.0-rc.1"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Previous != "v0.9.0" || h.Commit != rc || len(h.Changes) != len(rcCommits) {
		t.Errorf("final: previous %q, commit %.12s, %d changes", h.Previous, h.Commit, len(h.Changes))
	}
}

func TestCollectNextRC(t *testing.T) {
	g, _ := newRepo(t)
	_, err := collect(t, g.Dir, "v1.0.0-rc.2")
	if !errors.Is(err, notes.ErrNoCommits) || !strings.Contains(err.Error(), "previous release v1.0.0-rc.1") {
		t.Fatalf("rc.2 at the rc.1 commit: %v, want ErrNoCommits naming v1.0.0-rc.1", err)
	}
	g.Commit("fix: one more")
	h, err := collect(t, g.Dir, "v1.0.0-rc.2")
	if err != nil || h.Previous != "v1.0.0-rc.1" || len(h.Changes) != 1 {
		t.Fatalf("rc.2: %+v, %v; want one change since rc.1", h, err)
	}
}

func TestCollectShallow(t *testing.T) {
	g, _ := newRepo(t)
	c := g.ShallowClone(3)
	_, err := collect(t, c.Dir, "v1.0.0-rc.1")
	if !errors.Is(err, notes.ErrShallow) || !strings.Contains(err.Error(), "holds no earlier release tag") ||
		!strings.Contains(err.Error(), "fetch-depth: 0") || !strings.Contains(err.Error(), "git fetch --unshallow --tags") {
		t.Errorf("shallow clone without the previous tag: %v; want ErrShallow saying how to fetch the history", err)
	}

	// The previous tag fetched on its own: present, but cut off from the release commit by
	// the shallow boundary. The error names it.
	c.Git("fetch", "-q", "--depth=1", "origin", "refs/tags/v0.9.0:refs/tags/v0.9.0")
	_, err = collect(t, c.Dir, "v1.0.0-rc.1")
	if !errors.Is(err, notes.ErrShallow) || !strings.Contains(err.Error(), "does not reach the previous release tag v0.9.0") {
		t.Errorf("shallow with a detached previous tag: %v", err)
	}

	_, err = collect(t, g.ShallowClone(3).Dir, "v1.0.0-rc.1", notes.SincePrevious("v0.9.0"))
	if !errors.Is(err, notes.ErrPreviousTag) || !strings.Contains(err.Error(), "shallow") {
		t.Errorf("explicit previous tag missing from a shallow clone: %v", err)
	}

	// A shallow clone deep enough to reach the previous tag gives the exact notes.
	full, err := collect(t, g.Dir, "v1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	deep := g.ShallowClone(len(full.Changes) + 1)
	deep.Git("fetch", "-q", "--depth=1", "origin", "refs/tags/"+full.Previous+":refs/tags/"+full.Previous)
	h, err := collect(t, deep.Dir, "v1.0.0-rc.1")
	if err != nil || h.Previous != full.Previous || len(h.Changes) != len(full.Changes) {
		t.Errorf("shallow clone reaching %s: %+v, %v; want the full clone's %d changes", full.Previous, h, err, len(full.Changes))
	}
}

func TestCollectFirstRelease(t *testing.T) {
	g := gittest.New(t)
	g.Commit("feat: first")
	g.Commit("second")
	h, err := collect(t, g.Dir, "v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if h.Previous != "" || len(h.Changes) != 2 || !strings.Contains(h.Note, "First release") {
		t.Errorf("first release: %q, %d changes, note %q", h.Previous, len(h.Changes), h.Note)
	}
	h, err = collect(t, g.Dir, "v0.1.0", notes.MaxCommits(1))
	if err != nil || len(h.Changes) != 1 || !strings.Contains(h.Note, "Only the newest 1 commits are listed") {
		t.Errorf("MaxCommits(1): %v, note %q", err, h.Note)
	}
}

func TestCollectPreviousErrors(t *testing.T) {
	g, _ := newRepo(t)
	g.Git("checkout", "-q", "-b", "side", "v0.9.0")
	g.Commit("fix: on a side line")
	g.Tag("v0.9.1")
	g.Git("checkout", "-q", "main")
	g.Commit("feat: after the rc")

	if _, err := collect(t, g.Dir, "v1.0.0", notes.SincePrevious("v0.9.1")); !errors.Is(err, notes.ErrPreviousTag) || !strings.Contains(err.Error(), "not an ancestor") {
		t.Errorf("explicit non-ancestor: %v", err)
	}
	if _, err := collect(t, g.Dir, "v1.0.0", notes.SincePrevious("v0.8.0")); !errors.Is(err, notes.ErrPreviousTag) {
		t.Errorf("explicit missing tag: %v", err)
	}
	// v0.9.1 is the newest final below v1.0.0 but on another line: skipped for v0.9.0.
	h, err := collect(t, g.Dir, "v1.0.0")
	if err != nil || h.Previous != "v0.9.0" || len(h.Changes) != len(rcCommits)+1 {
		t.Errorf("auto previous: %v, %+v", err, h)
	}
	// On the side line, v0.9.2's previous is v0.9.1.
	g.Git("checkout", "-q", "side")
	if h, err := collect(t, g.Dir, "v0.9.2", notes.AtRevision("v0.9.1")); err == nil || !errors.Is(err, notes.ErrNoCommits) {
		t.Errorf("v0.9.2 at v0.9.1: %v, %+v", err, h)
	}

	// A full repository whose only lower release is not an ancestor: refuse, do not guess.
	o := gittest.New(t)
	o.Commit("feat: a")
	o.Git("checkout", "-q", "--orphan", "other")
	o.Commit("feat: unrelated")
	o.Tag("v0.5.0")
	o.Git("checkout", "-q", "main")
	if _, err := collect(t, o.Dir, "v1.0.0"); !errors.Is(err, notes.ErrPreviousTag) || !strings.Contains(err.Error(), "--previous-tag") {
		t.Errorf("unrelated lower tag: %v", err)
	}
}
