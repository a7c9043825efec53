package release_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/version"
)

const projectChangelog = `# Changelog

All notable changes to this project will be documented in this file.

## [0.9.0] - 2025-02-01

### Added

- First public release.
`

// historyProject is the multi test project in a repository tagged v0.9.0, followed by
// conventional (and one non-conventional) commits: the history of a release candidate.
func historyProject(t *testing.T) (string, *gittest.Repo) {
	t.Helper()
	dir := buildtest.Project(t, "multi")
	buildtest.WriteFile(t, dir, "CHANGELOG.md", projectChangelog)
	repo := gittest.NewIn(t, dir)
	repo.Git("add", "-A")
	repo.Commit("chore: import the project")
	repo.Tag("v0.9.0")
	for _, msg := range []string{
		"feat(greet): greet by name",
		"fix: handle an empty name",
		"perf: build the greeting once",
		"Update the README wording",
		"feat!: drop the legacy output format\n\nBREAKING CHANGE: the --legacy flag is gone.",
	} {
		repo.Commit(msg)
	}
	return dir, repo
}

// TestReleaseRecords runs one release candidate and checks everything written after the
// attestations: notes, changelog, audit summary, escrow, and that the gate covers them.
func TestReleaseRecords(t *testing.T) {
	src, _ := historyProject(t)
	k := key(t)
	out := filepath.Join(t.TempDir(), "dist")
	res, err := release.Run(context.Background(), release.Input{
		Source: src, Out: out, Version: "v1.0.0-rc.1", Key: k, Platforms: []string{"linux/amd64"},
	})
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if !res.Manifest.Declares(bundle.AttestEscrow) {
		t.Fatalf("the manifest does not declare the escrow: %v", res.Manifest.Attestations)
	}
	t.Run("notes", func(t *testing.T) { checkNotes(t, out, res, k.PublicKey().Fingerprint()) })
	t.Run("changelog", func(t *testing.T) { checkChangelog(t, src, out) })
	t.Run("audit summary", func(t *testing.T) { checkAuditSummary(t, out, res) })
	t.Run("escrow", func(t *testing.T) { checkEscrow(t, out, k) })
}

func checkNotes(t *testing.T, out string, res *release.Result, fingerprint string) {
	md := read(t, out, bundle.NotesFile)
	for _, want := range []string{
		"# multi v1.0.0-rc.1\n",
		"5 commits since v0.9.0.",
		"## " + notes.BreakingTitle, "the --legacy flag is gone.",
		"## " + notes.FeaturesTitle, "**greet:** greet by name",
		"## " + notes.FixesTitle, "handle an empty name",
		"## " + notes.PerformanceTitle, "build the greeting once",
		"## " + notes.OtherTitle, "Update the README wording",
		"## Verification",
		"reliquary verify dist --key release.pub",
		"- Signing key fingerprint (SHA-256 of the public key's PKIX DER encoding): `" + fingerprint + "`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RELEASE_NOTES.md lacks %q", want)
		}
	}
	if !strings.Contains(md, "- Manifest (`manifest.json`) digest: `sha256:"+res.Report.ManifestSHA256+"`") {
		t.Errorf("the notes do not give the released manifest's digest %s", res.Report.ManifestSHA256)
	}
	for _, a := range res.Manifest.Artifacts {
		if !strings.Contains(md, "`"+a.Digest.SHA256+"`") {
			t.Errorf("the artifact table lacks %s", a.Path)
		}
	}
	if strings.Contains(md, "import the project") {
		t.Error("the notes list a commit from before v0.9.0")
	}
	// Breaking changes come first.
	if strings.Index(md, notes.BreakingTitle) > strings.Index(md, notes.FeaturesTitle) {
		t.Error("breaking changes are not listed first")
	}
}

func checkChangelog(t *testing.T, src, out string) {
	md := read(t, out, bundle.ChangelogFile)
	if !strings.HasPrefix(md, "# Changelog\n") || !strings.Contains(md, projectChangelog[strings.Index(projectChangelog, "## [0.9.0]"):]) {
		t.Fatalf("CHANGELOG.md does not keep the project's entries:\n%s", md)
	}
	entry := md[strings.Index(md, "## [1.0.0-rc.1]"):strings.Index(md, "## [0.9.0]")]
	for _, want := range []string{"### Added", "greet by name", "### Changed", "**Breaking:**", "### Fixed", "handle an empty name"} {
		if !strings.Contains(entry, want) {
			t.Errorf("the changelog entry lacks %q:\n%s", want, entry)
		}
	}
	// The source tree is never written.
	if got := read(t, src, "CHANGELOG.md"); got != projectChangelog {
		t.Error("the release changed the project's CHANGELOG.md")
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// With no commit since the previous release tag, the notes say so instead of failing.
func TestNotesWithoutNewCommits(t *testing.T) {
	repo := gittest.New(t)
	repo.Commit("feat: everything")
	repo.Tag("v0.9.0")
	dir := testbundle.New(t, testbundle.Default()) // version v1.0.0
	r, err := gitlog.Open(context.Background(), repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	k := key(t)
	out, err := release.WriteNotes(context.Background(), release.NotesInput{
		Dir: dir, Repo: r, Version: version.MustParse("v1.0.0"), Commit: repo.Head(), Project: "app",
		Signer: k.PublicKey(), KeyFile: "release.pub", BundleName: "dist", Changelog: []byte(projectChangelog),
	})
	if err != nil {
		t.Fatalf("a release without new commits failed its notes: %v", err)
	}
	md := read(t, dir, bundle.NotesFile)
	if !strings.Contains(md, "No commits since v0.9.0") || !strings.Contains(md, "## Verification") {
		t.Fatalf("notes:\n%s", md)
	}
	cl := read(t, dir, bundle.ChangelogFile)
	if !strings.Contains(cl, "## [1.0.0] - ") || !strings.Contains(cl, "No notable changes.") || out.Kept {
		t.Fatalf("changelog:\n%s", cl)
	}
	// A changelog that already has the version keeps the maintainer's entry.
	out, err = release.WriteNotes(context.Background(), release.NotesInput{
		Dir: dir, Repo: r, Version: version.MustParse("v1.0.0"), Commit: repo.Head(), Signer: k.PublicKey(), Changelog: []byte(cl),
	})
	if err != nil || !out.Kept || read(t, dir, bundle.ChangelogFile) != cl {
		t.Fatalf("existing entry: kept=%v err=%v", out != nil && out.Kept, err)
	}
	// Notes for another version than the bundle's are refused.
	if _, err := release.WriteNotes(context.Background(), release.NotesInput{Dir: dir, Repo: r, Version: version.MustParse("v2.0.0"), Commit: repo.Head()}); err == nil {
		t.Fatal("notes for v2.0.0 written into a v1.0.0 bundle")
	}
}
