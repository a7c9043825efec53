package gitlog

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tag is a tag name and the commit it points at. Annotated tags are peeled to their commit;
// tags of trees or blobs are left out.
type Tag struct {
	Name   string
	Commit string
}

// Tags lists the repository's tags, sorted by name.
func (r *Repo) Tags(ctx context.Context) ([]Tag, error) {
	out, err := r.run(ctx, "for-each-ref", "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)", "refs/tags")
	if err != nil {
		return nil, err
	}
	var tags []Tag
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\x00")
		if len(f) != 5 {
			return nil, fmt.Errorf("gitlog: for-each-ref in %s: unexpected line %q", r.dir, line)
		}
		switch {
		case f[1] == "commit":
			tags = append(tags, Tag{Name: f[0], Commit: f[2]})
		case f[1] == "tag" && f[3] == "commit":
			tags = append(tags, Tag{Name: f[0], Commit: f[4]})
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	return tags, nil
}

// Resolve returns the full hash of the commit rev names. rev must not start with "-".
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	if err := checkRev(rev); err != nil {
		return "", err
	}
	out, err := r.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("gitlog: %q is not a commit in %s: %w", rev, r.dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) commit b.
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	for _, rev := range []string{a, b} {
		if err := checkRev(rev); err != nil {
			return false, err
		}
	}
	_, err := r.run(ctx, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

// IsShallow reports whether the repository is a shallow clone, missing older history.
func (r *Repo) IsShallow(ctx context.Context) (bool, error) {
	out, err := r.run(ctx, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// Commit is one commit of the history.
type Commit struct {
	Hash    string
	Time    time.Time // committer time, UTC
	Message string    // the raw message: subject, blank line, body
}

// Subject is the first line of the message.
func (c Commit) Subject() string {
	s, _, _ := strings.Cut(c.Message, "\n")
	return strings.TrimSpace(s)
}

// LogOption adjusts Log.
type LogOption func(*logOpts)

type logOpts struct {
	since  string
	max    int
	merges bool
}

// Since limits the log to commits not reachable from rev (the range rev..to).
func Since(rev string) LogOption { return func(o *logOpts) { o.since = rev } }

// Limit returns at most n commits (the newest).
func Limit(n int) LogOption { return func(o *logOpts) { o.max = n } }

// WithMerges includes merge commits, which Log leaves out by default: their messages
// ("Merge branch ...") describe no change of their own.
func WithMerges() LogOption { return func(o *logOpts) { o.merges = true } }

const fieldsPerCommit = 3

// Log returns the commits reachable from to, newest first in topological order (the same
// order for the same repository, whatever the commit dates say).
func (r *Repo) Log(ctx context.Context, to string, opts ...LogOption) ([]Commit, error) {
	var o logOpts
	for _, f := range opts {
		f(&o)
	}
	args := []string{"log", "-z", "--topo-order", "--format=%H%x00%ct%x00%B"}
	if !o.merges {
		args = append(args, "--no-merges")
	}
	if o.max > 0 {
		args = append(args, "--max-count="+strconv.Itoa(o.max))
	}
	rng := to
	if o.since != "" {
		rng = o.since + ".." + to
	}
	for _, rev := range []string{to, o.since} {
		if err := checkRev(rev); err != nil {
			return nil, err
		}
	}
	out, err := r.run(ctx, append(args, rng, "--")...)
	if err != nil {
		return nil, err
	}
	return parseLog(out)
}

// parseLog splits `git log -z --format=%H%x00%ct%x00%B` output: three NUL-separated fields
// per commit, commits separated by NUL. A message holding a NUL byte would shift the fields;
// the hash check catches that instead of mis-attributing messages.
func parseLog(out []byte) ([]Commit, error) {
	out = bytes.TrimSuffix(out, []byte{0})
	if len(out) == 0 {
		return nil, nil
	}
	f := strings.Split(string(out), "\x00")
	if len(f)%fieldsPerCommit != 0 {
		return nil, fmt.Errorf("gitlog: malformed log output (%d fields)", len(f))
	}
	commits := make([]Commit, 0, len(f)/fieldsPerCommit)
	for i := 0; i < len(f); i += fieldsPerCommit {
		hash := strings.TrimPrefix(f[i], "\n")
		if !isHash(hash) {
			return nil, fmt.Errorf("gitlog: malformed log output: %q is not a commit hash", hash)
		}
		sec, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("gitlog: commit %s: bad time %q", hash, f[i+1])
		}
		commits = append(commits, Commit{Hash: hash, Time: time.Unix(sec, 0).UTC(), Message: strings.TrimRight(f[i+2], "\n")})
	}
	return commits, nil
}

// CommitTime returns the committer time of rev, UTC.
func (r *Repo) CommitTime(ctx context.Context, rev string) (time.Time, error) {
	if err := checkRev(rev); err != nil {
		return time.Time{}, err
	}
	out, err := r.run(ctx, "log", "-1", "--format=%ct", rev, "--")
	if err != nil {
		return time.Time{}, err
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("gitlog: commit %s: bad time %q", rev, out)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// checkRev refuses revisions git could read as options, and oversized or control input.
func checkRev(rev string) error {
	switch {
	case strings.HasPrefix(rev, "-"):
		return fmt.Errorf("gitlog: revision %q starts with '-'", rev)
	case len(rev) > 256:
		return fmt.Errorf("gitlog: revision of %d bytes is too long", len(rev))
	case strings.ContainsAny(rev, "\x00\n\r"):
		return fmt.Errorf("gitlog: revision %q contains a control character", rev)
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
