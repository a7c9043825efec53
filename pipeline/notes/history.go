package notes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/version"
)

// Errors of Collect, for errors.Is.
var (
	ErrNoCommits   = errors.New("no commits to release")
	ErrPreviousTag = errors.New("previous release tag")
	// ErrShallow is a shallow clone whose history stops before the previous release tag:
	// its notes would list the wrong commits, so none are written.
	ErrShallow = errors.New("shallow clone")
)

// DefaultMaxCommits bounds how many commits one set of notes lists.
const DefaultMaxCommits = 5000

// Change is one commit of the release, with its parsed message.
type Change struct {
	Commit string // full hash
	Message
}

// History is what changed in a release: the commits after the previous release tag, up to
// and including the release commit, newest first.
type History struct {
	Version  version.Version
	Commit   string    // the release commit, full hash
	Date     time.Time // the release commit's committer time, UTC: the release date
	Previous string    // the previous release tag; "" when the range starts at the root or at a shallow boundary
	// Note explains a range that is not "since the previous release": a first release, a
	// shallow clone without the previous tag, or a list cut at the commit limit. Empty
	// for an ordinary release.
	Note    string
	Changes []Change
}

// CollectOption adjusts Collect.
type CollectOption func(*collectOpts)

type collectOpts struct {
	rev      string
	previous string
	max      int
}

// AtRevision names the release commit (a hash, tag or branch); the default is HEAD.
func AtRevision(rev string) CollectOption { return func(o *collectOpts) { o.rev = rev } }

// SincePrevious names the previous release tag instead of finding it by version order. It
// must exist and be an ancestor of the release commit.
func SincePrevious(tag string) CollectOption { return func(o *collectOpts) { o.previous = tag } }

// MaxCommits bounds the number of commits listed (default DefaultMaxCommits; 0 or less: no
// bound); a longer history is cut, and the notes say so.
func MaxCommits(n int) CollectOption { return func(o *collectOpts) { o.max = n } }

// Collect reads the history of release v from repo. The previous release is the newest
// release tag below v that is an ancestor of the release commit; a final release counts only
// final releases, so v1.0.0 lists everything since v0.9.0 even when v1.0.0-rc.1 exists (and
// promoting the rc at its own commit still has changes to list). A pre-release counts every
// release, so rc.2 lists what changed since rc.1.
func Collect(ctx context.Context, repo *gitlog.Repo, v version.Version, opts ...CollectOption) (*History, error) {
	o := collectOpts{rev: "HEAD", max: DefaultMaxCommits}
	for _, f := range opts {
		f(&o)
	}
	if v.IsZero() {
		return nil, fmt.Errorf("notes: no version given")
	}
	commit, err := repo.Resolve(ctx, o.rev)
	if err != nil {
		return nil, fmt.Errorf("notes: release commit: %w", err)
	}
	date, err := repo.CommitTime(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("notes: release commit: %w", err)
	}
	h := &History{Version: v, Commit: commit, Date: date}
	if err := h.findRange(ctx, repo, o.previous); err != nil {
		return nil, err
	}
	return h, h.readChanges(ctx, repo, o.max)
}

func (h *History) findRange(ctx context.Context, repo *gitlog.Repo, explicit string) error {
	shallow, err := repo.IsShallow(ctx)
	if err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	if explicit != "" {
		return h.useExplicit(ctx, repo, explicit, shallow)
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	prev, missed, err := previousRelease(ctx, repo, h, tags)
	if err != nil {
		return err
	}
	switch {
	case prev != "":
		h.Previous = prev
	case shallow:
		return shallowError(missed)
	case missed != "":
		return fmt.Errorf("notes: %w: release %s is below %s but not an ancestor of %s; name the previous release with --previous-tag",
			ErrPreviousTag, missed, h.Version, short(h.Commit))
	default:
		h.Note = "First release: no earlier release tag, so these notes cover the whole history."
	}
	return nil
}

func (h *History) useExplicit(ctx context.Context, repo *gitlog.Repo, tag string, shallow bool) error {
	c, err := repo.Resolve(ctx, tag)
	if err != nil {
		hint := ""
		if shallow {
			hint = " (this clone is shallow: fetch the full history with git fetch --unshallow --tags)"
		}
		return fmt.Errorf("notes: %w %q not found%s: %w", ErrPreviousTag, tag, hint, err)
	}
	ok, err := repo.IsAncestor(ctx, c, h.Commit)
	if err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	if !ok {
		return fmt.Errorf("notes: %w %s is not an ancestor of the release commit %s", ErrPreviousTag, tag, short(h.Commit))
	}
	h.Previous = tag
	return nil
}

// previousRelease returns the newest qualifying release tag that is an ancestor of the
// release commit, or else the newest qualifying tag that is not (missed), or neither.
func previousRelease(ctx context.Context, repo *gitlog.Repo, h *History, tags []gitlog.Tag) (prev, missed string, err error) {
	vt := make([]version.Tag, len(tags))
	for i, t := range tags {
		vt[i] = version.Tag{Name: t.Name, Commit: t.Commit}
	}
	releases, _ := version.Releases(vt)
	for i := len(releases) - 1; i >= 0; i-- {
		r := releases[i]
		if !r.Version.Less(h.Version) || (!h.Version.IsPrerelease() && r.Version.IsPrerelease()) {
			continue
		}
		ok, err := repo.IsAncestor(ctx, r.Commit, h.Commit)
		if err != nil {
			return "", "", fmt.Errorf("notes: %w", err)
		}
		if ok {
			return r.Tag(), missed, nil
		}
		if missed == "" {
			missed = r.Tag()
		}
	}
	return "", missed, nil
}

// shallowError refuses a shallow clone that reaches no earlier release tag: it may be a
// first release, or its history may stop short of the previous one, and notes that list
// commits of earlier releases as new would be wrong.
func shallowError(missed string) error {
	what := "holds no earlier release tag"
	if missed != "" {
		what = "does not reach the previous release tag " + missed
	}
	return fmt.Errorf("notes: %w that %s, so the commits of this release cannot be told apart from earlier ones: "+
		"fetch the full history with its tags (GitHub Actions: actions/checkout with fetch-depth: 0; GitLab: GIT_DEPTH: 0; "+
		"by hand: git fetch --unshallow --tags) and run again", ErrShallow, what)
}

func (h *History) readChanges(ctx context.Context, repo *gitlog.Repo, max int) error {
	var opts []gitlog.LogOption
	if max > 0 {
		opts = append(opts, gitlog.Limit(max+1))
	}
	if h.Previous != "" {
		opts = append(opts, gitlog.Since(h.Previous))
	}
	commits, err := repo.Log(ctx, h.Commit, opts...)
	if err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	if len(commits) == 0 {
		from := "the start of the history"
		if h.Previous != "" {
			from = "the previous release " + h.Previous
		}
		return fmt.Errorf("notes: %w: nothing changed between %s and the release commit %s of %s (merge commits are not counted)",
			ErrNoCommits, from, short(h.Commit), h.Version)
	}
	if max > 0 && len(commits) > max {
		commits = commits[:max]
		h.Note = joinNote(h.Note, fmt.Sprintf("Only the newest %d commits are listed.", max))
	}
	h.Changes = make([]Change, len(commits))
	for i, c := range commits {
		h.Changes[i] = Change{Commit: c.Hash, Message: ParseMessage(c.Message)}
	}
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
