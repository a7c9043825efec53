package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/sentientos/reliquary/pipeline/release"
	semver "github.com/sentientos/reliquary/pipeline/version"
)

// described is what `reliquary describe` prints: the facts every later stage of a release
// records about its source, as the container runner passes them on.
type described struct {
	Project         string `json:"project"`
	Version         string `json:"version"`
	Commit          string `json:"commit"`
	Repository      string `json:"repository,omitempty"`
	Ref             string `json:"ref"`
	SourceDateEpoch int64  `json:"sourceDateEpoch"`
	Time            string `json:"time"`
	TreeDigest      string `json:"treeDigest"`
}

// runDescribe is a release's first stage on its own: it reads the source's git state (the
// commit, remote, commit time and release tags), checks the version against the tags, names
// the project and digests the tree, and prints the result as JSON.
func runDescribe(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "describe", "DIR")
	ver := fs.String("version", "", "the version to release, e.g. v1.0.0 (required; checked against the release tags)")
	repo := fs.String("source-repo", "", "source repository URL (default: git remote origin)")
	ref := fs.String("ref", "", "git ref released (default: refs/tags/VERSION)")
	commit := fs.String("commit", "", "commit released (default: git HEAD)")
	epoch := fs.String("source-date-epoch", "", "release time in Unix seconds (default: $SOURCE_DATE_EPOCH, else the commit time)")
	force := fs.Bool("allow-not-greater-unsafe", false, "release a version not greater than the latest tag")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if *ver == "" {
		return usagef("--version is required")
	}
	in := release.DescribeInput{Source: pos[0], Version: *ver, Repository: *repo, Ref: *ref, Commit: *commit}
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || sec <= 0 {
			return usagef("--source-date-epoch: want a positive number of seconds, got %q", *epoch)
		}
		in.Time = time.Unix(sec, 0).UTC()
	}
	var opts []semver.Option
	if *force {
		opts = append(opts, semver.AllowNotGreaterUnsafe())
	}
	src, err := release.Describe(ctx, in, opts...)
	if err != nil {
		return usageError(err)
	}
	enc := json.NewEncoder(cli.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(described{
		Project: src.Project, Version: src.Version.String(), Commit: src.Commit, Repository: src.Repository,
		Ref: src.Ref, SourceDateEpoch: src.Time.Unix(), Time: src.Time.Format(time.RFC3339), TreeDigest: src.TreeDigest,
	})
}
