package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/version"
)

// DescribeInput is what the describe stage reads: the project, the version asked for, and
// facts the caller states instead of git (each empty or zero: read from the repository).
type DescribeInput struct {
	Source     string // the project: a Go module root, normally inside a git repository
	Version    string // the version asked for, e.g. v1.0.0
	Repository string // instead of remote.origin.url
	Ref        string // instead of refs/tags/VERSION
	Commit     string // instead of HEAD
	Time       time.Time
}

// SourceInfo is the describe stage's output: what is being released, from where. The
// local runner passes it on in memory; `reliquary describe` prints it for the container
// runner, whose later stages take each fact as a flag.
type SourceInfo struct {
	Project    string
	Repository string
	Ref        string
	Commit     string
	Time       time.Time // the release time: given, SOURCE_DATE_EPOCH, else the commit time
	TreeDigest string
	Version    version.Version
	Tags       []version.Tag
}

// Describe reads the source's git state (unless every fact is given), checks the requested
// version against the release tags, names the project and digests the source tree.
func Describe(ctx context.Context, in DescribeInput, opts ...version.Option) (*SourceInfo, error) {
	abs, err := filepath.Abs(in.Source)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRelease, err)
	}
	src := &SourceInfo{Repository: in.Repository, Ref: in.Ref, Commit: in.Commit}
	if err := readGit(ctx, abs, in, src); err != nil {
		return nil, err
	}
	if src.Ref == "" {
		src.Ref = "refs/tags/" + in.Version
	}
	if src.Version, err = version.Check(in.Version, src.Tags, append(opts, version.AtCommit(src.Commit))...); err != nil {
		return nil, err
	}
	if src.Project, err = build.ProjectName(abs); err != nil {
		return nil, err
	}
	if src.TreeDigest, err = source.TreeDigest(abs, source.DefaultExcludes); err != nil {
		return nil, err
	}
	return src, nil
}

// readGit fills what the caller did not give from the repository at dir. Without a
// repository every fact must be given: a release always names the commit it was built from.
func readGit(ctx context.Context, dir string, in DescribeInput, src *SourceInfo) error {
	repo, err := gitlog.Open(ctx, dir)
	if errors.Is(err, gitlog.ErrNotRepository) {
		if in.Commit == "" || in.Time.IsZero() && os.Getenv("SOURCE_DATE_EPOCH") == "" {
			return fmt.Errorf("%w: %s is not a git repository: a release names the commit it was built from "+
				"(release from a git checkout, or give the commit and the commit time)", ErrRelease, in.Source)
		}
		src.Time, err = releaseTime(ctx, nil, in.Time)
		return err
	}
	if err != nil {
		return err
	}
	if src.Commit == "" {
		if src.Commit, err = repo.Resolve(ctx, "HEAD"); err != nil {
			return err
		}
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		return err
	}
	for _, t := range tags {
		src.Tags = append(src.Tags, version.Tag{Name: t.Name, Commit: t.Commit})
	}
	if src.Repository == "" {
		remote, err := repo.RemoteURL(ctx, "origin")
		if err != nil {
			return err
		}
		src.Repository = publishable(remote)
	}
	src.Time, err = releaseTime(ctx, repo, in.Time)
	return err
}

// publishable is the remote URL to record, or "" for none: a file:// URL (a checkout whose
// origin is another local clone) names a directory on this machine, which tells a consumer
// nothing, leaks the machine's layout into a published artifact, and makes the release
// depend on where the checkout sits. Without a repository the manifest and provenance
// name the source by commit and tree digest only.
func publishable(remote string) string {
	if strings.HasPrefix(remote, "file:") {
		return ""
	}
	return remote
}

// releaseTime is the one time every output carries: an explicit option, SOURCE_DATE_EPOCH,
// or the commit time, never the wall clock.
func releaseTime(ctx context.Context, repo *gitlog.Repo, explicit time.Time) (time.Time, error) {
	if !explicit.IsZero() {
		return explicit.UTC(), nil
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("%w: SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds", ErrRelease, v)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return repo.CommitTime(ctx, "HEAD")
}

// DescribeStep is the trail entry of the describe stage: the source tree it digested.
func DescribeStep(src *SourceInfo) trail.Step {
	return trail.Step{Command: []string{"git", "rev-parse", "HEAD"}, Outputs: []trail.File{{Path: trail.SourceTree, SHA256: strings.TrimPrefix(src.TreeDigest, "sha256:")}}}
}

// describe is the runner's source stage.
func (r *run) describe(ctx context.Context) (*SourceInfo, error) {
	var src *SourceInfo
	err := r.trail.Run(ctx, "source", func(ctx context.Context) (trail.Step, error) {
		var err error
		src, err = Describe(ctx, DescribeInput{Source: r.in.Source, Version: r.in.Version, Repository: r.s.repository, Ref: r.s.ref, Time: r.s.time}, r.s.versionOpts...)
		if err != nil {
			return trail.Step{}, err
		}
		return DescribeStep(src), nil
	})
	return src, err
}
