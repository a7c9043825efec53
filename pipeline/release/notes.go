package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/changelog"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/version"
)

// NotesInput is what the notes stage writes RELEASE_NOTES.md and CHANGELOG.md from.
type NotesInput struct {
	Dir     string          // the staged bundle: its manifest fills the Verification section
	Repo    *gitlog.Repo    // the project's repository; nil when it is not available
	Version version.Version // the version released
	Commit  string          // the release commit
	// Date is the release date used when there is no repository to read it from.
	Date       time.Time
	Project    string
	Signer     *keys.PublicKey // the release key: its fingerprint goes in the notes
	KeyFile    string          // the public key's file name in the commands, e.g. release.pub
	BundleName string          // the release directory's name in the commands, e.g. dist
	// Changelog is the project's CHANGELOG.md (nil: none); the bundle gets it with this
	// version's entry prepended. The project's own file is never written.
	Changelog []byte
	Sections  []notes.Section // extra sections: a promotion note
	// NoHistory is the note and changelog item used when Repo is nil.
	NoHistory string
}

// NotesOutput is what the notes stage wrote.
type NotesOutput struct {
	History *notes.History
	Entry   changelog.Entry
	// Kept is true when the project's changelog already had an entry for the version:
	// the maintainer's entry is kept as written rather than duplicated.
	Kept  bool
	Files []string
}

// WriteNotes writes the release notes and the updated changelog into the bundle at in.Dir.
// A release whose history has no commit since the previous release tag gets notes that say
// so, not a failure.
func WriteNotes(ctx context.Context, in NotesInput) (*NotesOutput, error) {
	h, err := history(ctx, in)
	if err != nil {
		return nil, err
	}
	v, m, err := notes.VerificationFromBundle(in.Dir, in.Signer)
	if err != nil {
		return nil, err
	}
	if m.Version != in.Version.String() {
		return nil, fmt.Errorf("notes: the bundle is version %s, not %s", m.Version, in.Version)
	}
	v.KeyFile, v.BundleDir = in.KeyFile, in.BundleName
	sections := in.Sections
	if sec, ok, err := sbomSection(in.Dir, m, in.Repo, in.KeyFile, in.BundleName); err != nil {
		return nil, err
	} else if ok {
		sections = append(append([]notes.Section(nil), sections...), sec)
	}
	md, err := notes.Render(notes.Document{Project: in.Project, History: h, Verification: v, Sections: sections})
	if err != nil {
		return nil, err
	}
	out := &NotesOutput{History: h}
	updated, err := out.changelog(in, h)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{bundle.NotesFile, md}, {bundle.ChangelogFile, updated}} {
		if err := bundle.WriteFile(in.Dir, f.name, f.data); err != nil {
			return nil, fmt.Errorf("notes: %w", err)
		}
		out.Files = append(out.Files, f.name)
	}
	return out, nil
}

// history collects the commits of the release, or describes why there are none.
func history(ctx context.Context, in NotesInput) (*notes.History, error) {
	if in.Repo == nil {
		if in.Commit == "" {
			return nil, fmt.Errorf("notes: no repository and no release commit")
		}
		return &notes.History{Version: in.Version, Commit: in.Commit, Date: in.Date, Note: in.NoHistory}, nil
	}
	h, err := notes.Collect(ctx, in.Repo, in.Version, notes.AtRevision(in.Commit))
	if !errors.Is(err, notes.ErrNoCommits) {
		return h, err
	}
	if h == nil {
		date, err := in.Repo.CommitTime(ctx, in.Commit)
		if err != nil {
			return nil, err
		}
		h = &notes.History{Version: in.Version, Commit: in.Commit, Date: date}
	}
	since := "the start of the history"
	if h.Previous != "" {
		since = h.Previous
	}
	h.Changes = nil
	note := fmt.Sprintf("No commits since %s: this release is built from the same history (merge commits are not counted).", since)
	if h.Note != "" {
		note = h.Note + " " + note
	}
	h.Note = note
	return h, nil
}

// changelog returns the project's changelog with this version's entry prepended, or as it
// is when it already has one.
func (o *NotesOutput) changelog(in NotesInput, h *notes.History) ([]byte, error) {
	e, err := changelog.FromHistory(h)
	if err != nil {
		return nil, err
	}
	if in.Repo == nil && in.NoHistory != "" {
		e.Sections = []changelog.Section{{Title: changelog.Changed, Items: []string{in.NoHistory}}}
	}
	o.Entry = e
	updated, err := changelog.Prepend(in.Changelog, e)
	if errors.Is(err, changelog.ErrExists) {
		o.Kept = true
		return in.Changelog, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notes: %s: %w", bundle.ChangelogFile, err)
	}
	return updated, nil
}

// ReadChangelog reads dir/CHANGELOG.md, bounded; nil when the project has none.
func ReadChangelog(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, bundle.ChangelogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, changelog.MaxChangelog+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if len(data) > changelog.MaxChangelog {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.Name(), changelog.MaxChangelog)
	}
	return data, nil
}

// notes writes RELEASE_NOTES.md and CHANGELOG.md into the staging bundle.
func (r *run) notes(ctx context.Context, src *SourceInfo, m *bundle.Manifest) error {
	return r.trail.Run(ctx, "notes", func(ctx context.Context) (trail.Step, error) {
		repo, err := gitlog.Open(ctx, r.in.Source)
		if err != nil {
			return trail.Step{}, err
		}
		existing, err := ReadChangelog(r.in.Source)
		if err != nil {
			return trail.Step{}, err
		}
		out, err := WriteNotes(ctx, NotesInput{
			Dir: r.stage, Repo: repo, Version: src.Version, Commit: src.Commit, Project: m.Project,
			Signer: r.in.Key.PublicKey(), KeyFile: r.in.KeyName + ".pub", BundleName: filepath.Base(filepath.Clean(r.in.Out)),
			Changelog: existing,
		})
		if err != nil {
			return trail.Step{}, err
		}
		r.logNotes(out)
		return trail.Step{
			Command: []string{"reliquary", "notes", "--version", r.in.Version, "--commit", src.Commit, "--bundle", ".", "--changelog", bundle.ChangelogFile},
			Inputs:  trail.FilesOf(r.stage, bundle.ManifestFile),
			Outputs: trail.FilesOf(r.stage, out.Files...),
		}, nil
	})
}

func (r *run) logNotes(out *NotesOutput) {
	r.s.log.Info("release notes", "commits", len(out.History.Changes), "previous", out.History.Previous)
	if out.History.Note != "" {
		r.s.log.Warn(out.History.Note)
	}
	if out.Kept {
		r.s.log.Warn("CHANGELOG.md already has an entry for this version; kept as written", "version", r.in.Version)
	}
}
