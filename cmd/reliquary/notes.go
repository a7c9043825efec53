package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/changelog"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/release"
	semver "github.com/sentientos/reliquary/pipeline/version"
)

// notesFlags are the notes command's flags, turned into stage options by the functions below.
type notesFlags struct {
	source, version, commit, previous, project string
	bundle, bundleName, key, out               string
	changelog, entry                           string
	maxCommits                                 int
	allowNotGreater, inBundle                  bool
	hide                                       stringList
	groups                                     []notes.Group
	sections                                   []notes.Section
}

func runNotes(ctx context.Context, cli *cliEnv, args []string) error {
	f, err := parseNotesFlags(cli, args)
	if err != nil {
		return err
	}
	repo, err := gitlog.Open(ctx, f.source)
	if f.inBundle {
		if errors.Is(err, gitlog.ErrNotRepository) {
			// A source that is not a checkout (its facts were given): notes without history.
			repo, err = nil, nil
		}
		if err != nil {
			return usageError(err)
		}
		return notesInBundle(ctx, cli, repo, f)
	}
	if err != nil {
		return usageError(err)
	}
	h, err := releaseHistory(ctx, repo, f)
	if err != nil {
		return usageError(err)
	}
	doc := notes.Document{Project: f.project, History: h, Sections: f.sections}
	if doc.Verification, err = verificationInput(f, &doc); err != nil {
		return usageError(err)
	}
	out, err := notes.Render(doc, notes.WithGroups(f.groups...), notes.WithHiddenTypes(f.hide...))
	if err != nil {
		return usageError(err)
	}
	files, err := changelogFiles(f, h)
	if err != nil {
		return usageError(err)
	}
	cli.log.Info("release notes", "version", h.Version.String(), "commit", h.Commit, "previous", h.Previous, "commits", len(h.Changes))
	if h.Note != "" {
		cli.log.Warn(h.Note)
	}
	return writeNotesOutputs(cli, f.out, out, files)
}

func parseNotesFlags(cli *cliEnv, args []string) (*notesFlags, error) {
	f := &notesFlags{}
	fs := newFlagSet(cli, "notes", "")
	fs.StringVar(&f.source, "source", ".", "git repository of the project")
	fs.StringVar(&f.version, "version", "", "version being released, e.g. v1.0.0 or v1.0.0-rc.1 (required)")
	fs.StringVar(&f.commit, "commit", "HEAD", "the release commit")
	fs.StringVar(&f.previous, "previous-tag", "", "previous release tag (default: the newest lower release tag that is an ancestor; a final release counts only finals)")
	fs.StringVar(&f.project, "project", "", "project name for the heading (default: the bundle manifest's)")
	fs.StringVar(&f.bundle, "bundle", "", "release bundle: fills the Verification section from its manifest.json and keys/")
	fs.StringVar(&f.bundleName, "bundle-name", "", "the release directory's name in the verification commands (default: --bundle's base name, else dist)")
	fs.StringVar(&f.key, "key", "", "public key the release is signed with (PEM): its fingerprint goes in the notes")
	fs.StringVar(&f.out, "out", "", "write the notes to this file (default: stdout)")
	fs.StringVar(&f.changelog, "changelog", "", "add the version's entry to this CHANGELOG.md (created if missing)")
	fs.StringVar(&f.entry, "changelog-entry", "", "also write the version's CHANGELOG entry alone to this file")
	fs.IntVar(&f.maxCommits, "max-commits", notes.DefaultMaxCommits, "list at most this many commits (0: no limit)")
	fs.BoolVar(&f.allowNotGreater, "allow-not-greater-unsafe", false, "accept a version not greater than the latest release tag")
	fs.BoolVar(&f.inBundle, "in-bundle", false, "the release's notes stage: write RELEASE_NOTES.md and CHANGELOG.md (the project's, with this version's entry) into --bundle, as 'reliquary release' does (needs --bundle and --key)")
	fs.Var(&f.hide, "hide-types", "conventional commit types to leave out of the notes, e.g. chore,ci")
	fs.Func("group", "extra notes heading for commit types, TITLE=type[,type]; repeatable", func(s string) error {
		title, types, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(title) == "" || strings.TrimSpace(types) == "" {
			return fmt.Errorf("want TITLE=type[,type], got %q", s)
		}
		f.groups = append(f.groups, notes.Group{Title: strings.TrimSpace(title), Types: strings.Split(types, ",")})
		return nil
	})
	fs.Func("section", "extra notes section from a markdown file, TITLE=FILE; repeatable (benchmarks, reproducibility)", func(s string) error {
		sec, err := readSection(s)
		if err == nil {
			f.sections = append(f.sections, sec)
		}
		return err
	})
	if _, err := fs.parse(args, 0); err != nil {
		return nil, err
	}
	if f.version == "" {
		return nil, usagef("--version is required (the version being released, e.g. v1.0.0)")
	}
	return f, nil
}

func readSection(s string) (notes.Section, error) {
	title, file, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(title) == "" || file == "" {
		return notes.Section{}, fmt.Errorf("want TITLE=FILE, got %q", s)
	}
	data, err := readLimited(file, notes.MaxSectionText)
	if err != nil {
		return notes.Section{}, err
	}
	return notes.Section{Title: strings.TrimSpace(title), Markdown: string(data)}, nil
}

// notesInBundle is the release's notes stage, the one the local runner runs: notes and
// changelog written into the bundle, from the history and the bundle's manifest.
func notesInBundle(ctx context.Context, cli *cliEnv, repo *gitlog.Repo, f *notesFlags) error {
	if f.bundle == "" || f.key == "" {
		return usagef("--in-bundle needs --bundle (the release) and --key (its public key)")
	}
	pub, err := keys.LoadPublic(f.key)
	if err != nil {
		return usageError(fmt.Errorf("--key: %w", err))
	}
	in, err := notesSource(ctx, repo, f)
	if err != nil {
		return err
	}

	m, err := readManifest(f.bundle)
	if err != nil {
		return usageError(err)
	}
	existing, err := release.ReadChangelog(f.source)
	if err != nil {
		return usageError(err)
	}
	name := f.bundleName
	if name == "" {
		name = "dist"
	}
	in.Dir, in.Project, in.Signer, in.KeyFile, in.BundleName, in.Changelog = f.bundle, m.Project, pub, filepath.Base(f.key), name, existing
	out, err := release.WriteNotes(ctx, in)
	if err != nil {
		return usageError(err)
	}
	cli.log.Info("release notes", "version", in.Version.String(), "commits", len(out.History.Changes), "previous", out.History.Previous)
	if out.History.Note != "" {
		cli.log.Warn(out.History.Note)
	}
	for _, file := range out.Files {
		fmt.Fprintln(cli.stdout, joinPath(f.bundle, file))
	}
	return nil
}

// notesSource is the history part of the notes stage's input: the repository, the commit and
// the checked version; without a repository, the commit as given, the version as parsed, and
// the release time (SOURCE_DATE_EPOCH) as the date, with a note that no commits are listed.
func notesSource(ctx context.Context, repo *gitlog.Repo, f *notesFlags) (release.NotesInput, error) {
	if repo != nil {
		commit, v, err := checkVersion(ctx, repo, f)
		if err != nil {
			return release.NotesInput{}, usageError(err)
		}
		return release.NotesInput{Repo: repo, Commit: commit, Version: v}, nil
	}
	v, err := semver.Parse(f.version)
	if err != nil {
		return release.NotesInput{}, usageError(fmt.Errorf("--version: %w", err))
	}
	if !fullCommit.MatchString(f.commit) {
		return release.NotesInput{}, usagef("%s is not a git checkout: --commit must name the released commit in full (40 hex digits), got %q", f.source, f.commit)
	}
	date, err := releaseTimeFlag("")
	if err != nil {
		return release.NotesInput{}, err
	}
	return release.NotesInput{Commit: f.commit, Version: v, Date: date,
		NoHistory: "Released from a source tree without its git history, so the commits are not listed here: see the repository at commit " + f.commit + "."}, nil
}

// fullCommit is a full SHA-1 commit hash.
var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

// releaseHistory checks the requested version against the repository's tags and collects
// the commits it releases.
func releaseHistory(ctx context.Context, repo *gitlog.Repo, f *notesFlags) (*notes.History, error) {
	commit, v, err := checkVersion(ctx, repo, f)
	if err != nil {
		return nil, err
	}
	copts := []notes.CollectOption{notes.AtRevision(commit), notes.MaxCommits(f.maxCommits)}
	if f.previous != "" {
		copts = append(copts, notes.SincePrevious(f.previous))
	}
	return notes.Collect(ctx, repo, v, copts...)
}

// checkVersion resolves --commit and checks --version against the repository's tags.
func checkVersion(ctx context.Context, repo *gitlog.Repo, f *notesFlags) (string, semver.Version, error) {
	commit, err := repo.Resolve(ctx, f.commit)
	if err != nil {
		return "", semver.Version{}, fmt.Errorf("--commit: %w", err)
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		return "", semver.Version{}, err
	}
	vtags := make([]semver.Tag, len(tags))
	for i, t := range tags {
		vtags[i] = semver.Tag{Name: t.Name, Commit: t.Commit}
	}
	opts := []semver.Option{semver.AtCommit(commit)}
	if f.allowNotGreater {
		opts = append(opts, semver.AllowNotGreaterUnsafe())
	}
	v, err := semver.Check(f.version, vtags, opts...)
	if err != nil {
		return "", semver.Version{}, fmt.Errorf("--version: %w", err)
	}
	return commit, v, nil
}

// verificationInput reads the bundle and key named by the flags; nil when neither is given.
func verificationInput(f *notesFlags, doc *notes.Document) (*notes.Verification, error) {
	var pub *keys.PublicKey
	if f.key != "" {
		var err error
		if pub, err = keys.LoadPublic(f.key); err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
	}
	keyFile, dir := "", f.bundleName
	if f.key != "" {
		keyFile = filepath.Base(f.key)
	}
	if dir == "" && f.bundle != "" {
		dir = baseName(f.bundle)
	}
	if f.bundle == "" {
		if pub == nil && dir == "" {
			return nil, nil
		}
		v := &notes.Verification{KeyFile: keyFile, BundleDir: dir}
		if pub != nil {
			v.KeyFingerprint = pub.Fingerprint()
		}
		return v, nil
	}
	v, m, err := notes.VerificationFromBundle(f.bundle, pub)
	if err != nil {
		return nil, err
	}
	if want := doc.History.Version.String(); m.Version != want {
		return nil, fmt.Errorf("--bundle %s holds version %s, not %s", f.bundle, m.Version, want)
	}
	if doc.Project == "" {
		doc.Project = m.Project
	}
	v.KeyFile, v.BundleDir = keyFile, dir
	return v, nil
}

type outputFile struct {
	path string
	data []byte
}

// changelogFiles prepares the CHANGELOG outputs so that a refusal (version already listed)
// stops the command before anything is written.
func changelogFiles(f *notesFlags, h *notes.History) ([]outputFile, error) {
	if f.changelog == "" && f.entry == "" {
		return nil, nil
	}
	e, err := changelog.FromHistory(h)
	if err != nil {
		return nil, err
	}
	var files []outputFile
	if f.changelog != "" {
		existing, err := readLimited(f.changelog, changelog.MaxChangelog)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		updated, err := changelog.Prepend(existing, e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.changelog, err)
		}
		files = append(files, outputFile{f.changelog, updated})
	}
	if f.entry != "" {
		files = append(files, outputFile{f.entry, e.Markdown()})
	}
	return files, nil
}

func writeNotesOutputs(cli *cliEnv, out string, notesMD []byte, files []outputFile) error {
	if out == "" {
		if _, err := cli.stdout.Write(notesMD); err != nil {
			return err
		}
	} else {
		files = append([]outputFile{{out, notesMD}}, files...)
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(f.path, f.data, 0o644); err != nil {
			return usageError(err)
		}
		if out != "" {
			fmt.Fprintln(cli.stdout, f.path)
		}
	}
	return nil
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than the %d-byte limit", path, max)
	}
	return data, nil
}
