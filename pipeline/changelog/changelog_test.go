package changelog_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/changelog"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", name, got)
	}
}

var releaseDate = time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)

// history builds a History from commit messages, given newest first as notes.Collect
// returns them; entries keep that order within each section.
func history(v string, messages ...string) *notes.History {
	h := &notes.History{Version: version.MustParse(v), Commit: strings.Repeat("a", 40), Date: releaseDate}
	for i, m := range messages {
		h.Changes = append(h.Changes, notes.Change{Commit: fmt.Sprintf("%040x", i+1), Message: notes.ParseMessage(m)})
	}
	return h
}

var rcMessages = []string{
	"fix: escape <b>names</b> in tables",
	"chore(deps): bump sigstore-go to v1.3.0",
	"refactor: split the gate into checks",
	"Update the README",
	"docs: explain promotion",
	"fix(security): refuse symlinks inside a bundle",
	"feat: require Go 1.26\n\nBREAKING CHANGE: building reliquary now needs Go 1.26 or later.",
	"feat(api)!: rename Verify to Check",
	"perf(digest): hash artifacts in parallel",
	"fix: report every drifted artifact",
	"feat(cli): add --json output to verify",
	"deprecate: the --legacy flag",
	"remove: the v0 manifest reader",
	"ci: cache modules",
}

func TestFromHistory(t *testing.T) {
	e, err := changelog.FromHistory(history("v1.0.0", rcMessages...))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "entry-1.0.0.md", e.Markdown())
	got := map[string]string{}
	var order []string
	for _, s := range e.Sections {
		order = append(order, s.Title)
		got[s.Title] = strings.Join(s.Items, " | ")
	}
	if want := "Added|Changed|Deprecated|Removed|Fixed|Security"; strings.Join(order, "|") != want {
		t.Errorf("sections = %q, want %q", order, want)
	}
	want := map[string]string{
		changelog.Added: "**cli:** add --json output to verify",
		changelog.Changed: "**Breaking:** require Go 1.26 (building reliquary now needs Go 1.26 or later.) | **Breaking:** **api:** rename Verify to Check | " +
			"split the gate into checks | Update the README | explain promotion | **digest:** hash artifacts in parallel",
		changelog.Deprecated: "the --legacy flag",
		changelog.Removed:    "the v0 manifest reader",
		changelog.Fixed:      "escape &lt;b>names&lt;/b> in tables | report every drifted artifact",
		changelog.Security:   "**security:** refuse symlinks inside a bundle",
	}
	for title, w := range want {
		if got[title] != w {
			t.Errorf("%s:\n got  %s\n want %s", title, got[title], w)
		}
	}
	if s := string(e.Markdown()); strings.Contains(s, "sigstore-go") || strings.Contains(s, "cache modules") {
		t.Errorf("chore and ci commits are in the entry:\n%s", s)
	}
	if e.Heading() != "## [1.0.0] - 2025-03-02" {
		t.Errorf("heading = %q", e.Heading())
	}
}

func TestFromHistoryOptions(t *testing.T) {
	h := history("v1.0.0-rc.1", "chore: tidy", "ci: cache", "feat: x", "docs: y")
	e, err := changelog.FromHistory(h, changelog.MapTypes(changelog.Changed, "chore"), changelog.OmitTypes("docs", "FEAT"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.Markdown()); got != "## [1.0.0-rc.1] - 2025-03-02\n\n### Changed\n\n- tidy\n" {
		t.Errorf("entry = %q", got)
	}
	e, err = changelog.FromHistory(history("v1.0.1", "chore: only housekeeping"))
	if err != nil || string(e.Markdown()) != "## [1.0.1] - 2025-03-02\n\nNo notable changes.\n" {
		t.Errorf("housekeeping-only entry = %q, %v", e.Markdown(), err)
	}
	if _, err := changelog.FromHistory(h, changelog.MapTypes("Misc", "chore")); !errors.Is(err, changelog.ErrEntry) {
		t.Errorf("unknown section accepted: %v", err)
	}
	if _, err := changelog.FromHistory(nil); !errors.Is(err, changelog.ErrEntry) {
		t.Errorf("nil history accepted: %v", err)
	}
}

func entry(t *testing.T, v string) changelog.Entry {
	t.Helper()
	e, err := changelog.FromHistory(history(v, "feat: new thing"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const newEntry = "## [1.0.0] - 2025-03-02\n\n### Added\n\n- new thing\n"

func TestPrepend(t *testing.T) {
	tests := []struct {
		name, existing, want string
	}{
		{"empty file", "", changelog.Header + "\n" + newEntry},
		{"blank file", "\n\n  \n", changelog.Header + "\n" + newEntry},
		{"header only", "# Changelog\n\nIntro.\n", "# Changelog\n\nIntro.\n\n" + newEntry},
		{"before the newest release",
			"# Changelog\n\n## [0.9.0] - 2025-01-01\n\n### Added\n\n- old\n",
			"# Changelog\n\n" + newEntry + "\n## [0.9.0] - 2025-01-01\n\n### Added\n\n- old\n"},
		{"after Unreleased",
			"# Changelog\n\n## [Unreleased]\n\n- pending\n\n## [0.9.0] - 2025-01-01\n\n- old\n\n[unreleased]: https://x/compare/v0.9.0...HEAD\n[0.9.0]: https://x/tree/v0.9.0\n",
			"# Changelog\n\n## [Unreleased]\n\n- pending\n\n" + newEntry + "\n## [0.9.0] - 2025-01-01\n\n- old\n\n[unreleased]: https://x/compare/v0.9.0...HEAD\n[0.9.0]: https://x/tree/v0.9.0\n"},
		{"Unreleased and no release yet, links kept last",
			"# Changelog\n\n## Unreleased\n\n- pending\n\n[unreleased]: https://x\n",
			"# Changelog\n\n## Unreleased\n\n- pending\n\n" + newEntry + "\n[unreleased]: https://x\n"},
		{"headings without brackets, v prefix",
			"# Changes\n\n## v0.9.0 (2025-01-01)\n\n- old\n",
			"# Changes\n\n" + newEntry + "\n## v0.9.0 (2025-01-01)\n\n- old\n"},
		{"heading in a code block is not a release",
			"# Changelog\n\n```\n## [0.8.0] - example\n```\n\n## [0.9.0] - 2025-01-01\n",
			"# Changelog\n\n```\n## [0.8.0] - example\n```\n\n" + newEntry + "\n## [0.9.0] - 2025-01-01\n"},
		{"no header, starts with a release",
			"## [0.9.0] - 2025-01-01\n",
			newEntry + "\n## [0.9.0] - 2025-01-01\n"},
		{"CRLF kept",
			"# Changelog\r\n\r\n## [0.9.0] - 2025-01-01\r\n",
			strings.ReplaceAll("# Changelog\n\n"+newEntry+"\n## [0.9.0] - 2025-01-01\n", "\n", "\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := changelog.Prepend([]byte(tt.existing), entry(t, "v1.0.0"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Prepend:\n got  %q\n want %q", got, tt.want)
			}
			if _, err := changelog.Prepend(got, entry(t, "v1.0.0")); !errors.Is(err, changelog.ErrExists) {
				t.Errorf("adding the same version twice: %v, want ErrExists", err)
			}
		})
	}
}

func TestPrependRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, existing string
		err            error
		msg            string
	}{
		{"already there", "# C\n\n## [1.0.0] - 2024-01-01\n", changelog.ErrExists, `line 3: "## [1.0.0] - 2024-01-01"`},
		{"already there with v", "## v1.0.0\n", changelog.ErrExists, "version 1.0.0"},
		{"binary", "# C\x00\n", changelog.ErrChangelog, "not UTF-8 text"},
		{"not UTF-8", "# C\xff\n", changelog.ErrChangelog, "not UTF-8 text"},
		{"unclosed code block", "# C\n\n```\n## [0.9.0]\n", changelog.ErrChangelog, "line 3 is never closed"},
		{"too large", strings.Repeat("x", changelog.MaxChangelog+1), changelog.ErrChangelog, "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := changelog.Prepend([]byte(tt.existing), entry(t, "v1.0.0"))
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Prepend: %v, want %v saying %q", err, tt.err, tt.msg)
			}
		})
	}
	if _, err := changelog.Prepend(nil, changelog.Entry{}); !errors.Is(err, changelog.ErrEntry) {
		t.Errorf("zero entry: %v", err)
	}
	// rc.1 and the final are different versions: both may be listed.
	withRC, err := changelog.Prepend(nil, entry(t, "v1.0.0-rc.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := changelog.Prepend(withRC, entry(t, "v1.0.0")); err != nil {
		t.Errorf("final after its rc: %v", err)
	}
}

func TestPrependGolden(t *testing.T) {
	existing, err := os.ReadFile(filepath.Join("testdata", "CHANGELOG.before.md"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := changelog.FromHistory(history("v1.0.0", rcMessages...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := changelog.Prepend(existing, e)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "CHANGELOG.after.md", out)
}

// FuzzPrepend: on any existing text, Prepend must not panic; when it succeeds, every line of
// the input survives in order, the entry's heading appears exactly once, and a second
// Prepend of the same version is refused.
func FuzzPrepend(f *testing.F) {
	for _, s := range []string{"", "# Changelog\n", "## [Unreleased]\n\n- x\n\n## [0.9.0] - 2025-01-01\n", "```\n## [1.0.0]\n", "[a]: b\n", "## [1.0.0]\n", "\r\n## v0.1.0\r\n"} {
		f.Add(s)
	}
	e, err := changelog.FromHistory(history("v1.0.0", "feat: new thing"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, existing string) {
		out, err := changelog.Prepend([]byte(existing), e)
		if err != nil {
			return
		}
		s, in := string(out), existing
		if strings.Contains(existing, "\r\n") { // Prepend then writes CRLF throughout
			s, in = strings.ReplaceAll(s, "\r\n", "\n"), strings.ReplaceAll(in, "\r\n", "\n")
		}
		if n := strings.Count(s, e.Heading()+"\n"); n < 1 {
			t.Fatalf("entry heading missing:\n%q", s)
		}
		rest := strings.Replace(s, string(e.Markdown()), "", 1)
		if strings.TrimSpace(existing) != "" {
			var kept []string
			for _, l := range strings.Split(in, "\n") {
				if strings.TrimSpace(l) != "" {
					kept = append(kept, l)
				}
			}
			pos := 0
			for _, l := range kept {
				i := strings.Index(rest[pos:], l)
				if i < 0 {
					t.Fatalf("line %q of the input is lost or out of order:\n%q", l, s)
				}
				pos += i + len(l)
			}
		}
		if _, err := changelog.Prepend(out, e); !errors.Is(err, changelog.ErrExists) {
			t.Fatalf("second Prepend: %v", err)
		}
	})
}
