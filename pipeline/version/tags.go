package version

import (
	"fmt"
	"sort"
)

// Tag is a git tag name and the commit it points at (peeled, for annotated tags).
type Tag struct {
	Name   string
	Commit string
}

// Release is a tag whose name is a valid release version.
type Release struct {
	Version Version
	Commit  string
}

// Tag is the release's tag name.
func (r Release) Tag() string { return r.Version.String() }

// Releases returns the tags that are release versions, sorted from oldest to newest by
// version, and the names of the tags it ignored (not release versions), sorted. Two tags
// naming the same version cannot happen: the canonical form is the tag name.
func Releases(tags []Tag) (releases []Release, ignored []string) {
	for _, t := range tags {
		v, err := Parse(t.Name)
		if err != nil || v.String() != t.Name {
			ignored = append(ignored, t.Name)
			continue
		}
		releases = append(releases, Release{Version: v, Commit: t.Commit})
	}
	sort.Slice(releases, func(i, j int) bool { return releases[i].Version.Less(releases[j].Version) })
	sort.Strings(ignored)
	return releases, ignored
}

// Latest returns the newest release among tags, if any.
func Latest(tags []Tag) (Release, bool) {
	rs, _ := Releases(tags)
	if len(rs) == 0 {
		return Release{}, false
	}
	return rs[len(rs)-1], true
}

// Option adjusts a Check or CheckPromotion policy. The zero policy is strict.
type Option func(*policy)

type policy struct {
	commit          string
	allowNotGreater bool
	allowStale      bool
}

// AtCommit names the commit being released. A tag for the requested version that already
// points at this commit is a re-run of the same release, not a conflict, and is left out of
// the ordering check.
func AtCommit(commit string) Option { return func(p *policy) { p.commit = commit } }

// AllowNotGreaterUnsafe accepts a version that is not greater than the latest release (a
// patch on an old release line, say). A tag that exists at another commit is still refused.
func AllowNotGreaterUnsafe() Option { return func(p *policy) { p.allowNotGreater = true } }

// AllowStaleCandidateUnsafe lets CheckPromotion promote a release candidate that a later
// candidate of the same version has superseded.
func AllowStaleCandidateUnsafe() Option { return func(p *policy) { p.allowStale = true } }

func newPolicy(opts []Option) policy {
	var p policy
	for _, o := range opts {
		o(&p)
	}
	return p
}

// Check validates requested as the next release of a repository whose tags are given: it
// must parse, its tag must not exist at another commit, and it must be greater than every
// existing release.
func Check(requested string, tags []Tag, opts ...Option) (Version, error) {
	v, err := Parse(requested)
	if err != nil {
		return Version{}, err
	}
	p := newPolicy(opts)
	return v, checkOrder(v, tags, p)
}

func checkOrder(v Version, tags []Tag, p policy) error {
	rs, _ := Releases(tags)
	var latest *Release
	for i := range rs {
		r := rs[i]
		if r.Version.Equal(v) {
			if p.commit == "" || r.Commit != p.commit {
				return fmt.Errorf("%w: %s points at %s%s", ErrTagConflict, v, short(r.Commit), atCommit(p.commit))
			}
			continue // the tag of this very release
		}
		latest = &rs[i]
	}
	if latest == nil || v.Compare(latest.Version) > 0 || p.allowNotGreater {
		return nil
	}
	return fmt.Errorf("%w: %s is not greater than %s, the latest release (choose a higher version, or force it if you mean to release on an older line)",
		ErrNotGreater, v, latest.Version)
}

func atCommit(c string) string {
	if c == "" {
		return ""
	}
	return ", not at the release commit " + short(c)
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// Promotion is an accepted promotion of a release candidate to its final version.
type Promotion struct {
	RC       Version
	Final    Version
	RCCommit string // the commit the candidate's tag points at: the final release's commit
}

// CheckPromotion validates promoting the release candidate rc to final: final must be rc's
// version without its pre-release, rc must have been released (its tag exists), no later
// candidate of the same version may exist (unless AllowStaleCandidateUnsafe), and final must
// pass Check at the candidate's commit.
func CheckPromotion(rc, final string, tags []Tag, opts ...Option) (Promotion, error) {
	c, err := Parse(rc)
	if err != nil {
		return Promotion{}, fmt.Errorf("release candidate: %w", err)
	}
	f, err := Parse(final)
	if err != nil {
		return Promotion{}, fmt.Errorf("final version: %w", err)
	}
	if c.Channel() != RC {
		return Promotion{}, fmt.Errorf("%w: %s is not a release candidate (want vX.Y.Z-rc.N)", ErrPromotion, c)
	}
	if f.IsPrerelease() || !f.Equal(c.Core()) {
		return Promotion{}, fmt.Errorf("%w: %s can only be promoted to %s, not %s", ErrPromotion, c, c.Core(), f)
	}
	p := newPolicy(opts)
	rcRel, err := findCandidate(c, tags, p)
	if err != nil {
		return Promotion{}, err
	}
	p.commit = rcRel.Commit
	if err := checkOrder(f, tags, p); err != nil {
		return Promotion{}, err
	}
	return Promotion{RC: c, Final: f, RCCommit: rcRel.Commit}, nil
}

func findCandidate(c Version, tags []Tag, p policy) (Release, error) {
	rs, _ := Releases(tags)
	var found *Release
	for i, r := range rs {
		switch {
		case r.Version.Equal(c):
			found = &rs[i]
		case found != nil && r.Version.IsPrerelease() && r.Version.Core().Equal(c.Core()) && !p.allowStale:
			return Release{}, fmt.Errorf("%w: %s was released after %s; promote the latest candidate", ErrPromotion, r.Version, c)
		}
	}
	if found == nil {
		return Release{}, fmt.Errorf("%w: %s was never released (no tag %s): release it first, then promote it", ErrPromotion, c, c)
	}
	return *found, nil
}
