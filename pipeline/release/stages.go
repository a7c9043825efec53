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
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/source"
	"github.com/sentientos/reliquary/pipeline/trail"
	"github.com/sentientos/reliquary/pipeline/version"
)

// sourceInfo is the describe stage's output: what is being released, from where.
type sourceInfo struct {
	Repository string
	Ref        string
	Commit     string
	Time       time.Time // the release time: WithTime, SOURCE_DATE_EPOCH, else the commit time
	TreeDigest string
	Version    version.Version
	Tags       []version.Tag
}

// describe reads the source's git state, checks the requested version against the tags,
// and digests the source tree.
func (r *run) describe(ctx context.Context) (*sourceInfo, error) {
	var src sourceInfo
	err := r.trail.Run(ctx, "source", func(ctx context.Context) (trail.Step, error) {
		repo, err := gitlog.Open(ctx, r.in.Source)
		if err != nil {
			if errors.Is(err, gitlog.ErrNotRepository) {
				return trail.Step{}, fmt.Errorf("%w: %s is not a git repository: a release names the commit it was built from (git init && git commit first)", ErrRelease, r.in.Source)
			}
			return trail.Step{}, err
		}
		if err := r.readGit(ctx, repo, &src); err != nil {
			return trail.Step{}, err
		}
		if src.Version, err = version.Check(r.in.Version, src.Tags, append(r.s.versionOpts, version.AtCommit(src.Commit))...); err != nil {
			return trail.Step{}, err
		}
		if src.TreeDigest, err = source.TreeDigest(r.in.Source, source.DefaultExcludes); err != nil {
			return trail.Step{}, err
		}
		return trail.Step{Command: []string{"git", "rev-parse", "HEAD"}, Outputs: []trail.File{{Path: trail.SourceTree, SHA256: strings.TrimPrefix(src.TreeDigest, "sha256:")}}}, nil
	})
	return &src, err
}

func (r *run) readGit(ctx context.Context, repo *gitlog.Repo, src *sourceInfo) error {
	var err error
	if src.Commit, err = repo.Resolve(ctx, "HEAD"); err != nil {
		return err
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		return err
	}
	for _, t := range tags {
		src.Tags = append(src.Tags, version.Tag{Name: t.Name, Commit: t.Commit})
	}
	src.Repository, src.Ref = r.s.repository, r.s.ref
	if src.Repository == "" {
		if src.Repository, err = repo.RemoteURL(ctx, "origin"); err != nil {
			return err
		}
	}
	if src.Repository == "" {
		src.Repository = "file://" + filepath.ToSlash(r.in.Source)
	}
	if src.Ref == "" {
		src.Ref = "refs/tags/" + r.in.Version
	}
	src.Time, err = releaseTime(ctx, repo, r.s.time)
	return err
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

// freeze checks and records the dependency set, and fills the module cache for the build.
func (r *run) freeze(ctx context.Context) (*freeze.Lock, error) {
	var lock *freeze.Lock
	err := r.trail.Run(ctx, "freeze", func(ctx context.Context) (trail.Step, error) {
		opts := []freeze.Option{freeze.WithLogger(r.s.log), freeze.WithToolchain(r.s.toolchain)}
		if len(r.s.freezeAllow) > 0 {
			opts = append(opts, freeze.Allow(r.s.freezeAllow...))
		}
		if r.s.modCache != "" {
			opts = append(opts, freeze.WithModCache(r.s.modCache))
		}
		if r.s.goBin != "" {
			opts = append(opts, freeze.WithGo(r.s.goBin))
		}
		l, err := freeze.Run(ctx, freeze.Input{Dir: r.in.Source, Images: r.in.Images}, opts...)
		if err != nil {
			return trail.Step{}, err
		}
		out := filepath.Join(r.stage, bundle.DepsLockFile)
		if err := l.WriteFile(out); err != nil {
			return trail.Step{}, err
		}
		lock = l
		cmd := []string{"reliquary", "freeze", "."}
		if l.Toolchain.Mode == freeze.ToolchainLocal {
			cmd = append(cmd, "--toolchain", freeze.ToolchainLocal)
		}
		return trail.FreezeStep(cmd, l, out), nil
	})
	return lock, err
}

// build compiles every platform and packages the artifacts into the staging bundle.
func (r *run) build(ctx context.Context, src *sourceInfo, lock *freeze.Lock) (*build.Output, error) {
	var out *build.Output
	err := r.trail.Run(ctx, "build", func(ctx context.Context) (trail.Step, error) {
		var err error
		out, err = build.Run(ctx, r.buildInput(src, r.stage), r.buildOptions(src, lock, r.s.goCache)...)
		if err != nil {
			return trail.Step{}, err
		}
		return trail.BuildStep(buildCommand(r.in, src), src.TreeDigest, filepath.Join(r.stage, bundle.DepsLockFile), out.Artifacts), nil
	})
	return out, err
}

func (r *run) buildInput(src *sourceInfo, outDir string) build.Input {
	return build.Input{Source: r.in.Source, Version: r.in.Version, Commit: src.Commit, Platforms: r.in.Platforms, OutDir: outDir}
}

func (r *run) buildOptions(src *sourceInfo, lock *freeze.Lock, goCache string) []build.Option {
	opts := []build.Option{build.WithLock(lock), build.WithLogger(r.s.log), build.WithTime(src.Time), build.WithRepository(src.Repository)}
	if goCache != "" {
		opts = append(opts, build.WithGoCache(goCache))
	}
	if r.s.modCache != "" {
		opts = append(opts, build.WithModCache(r.s.modCache))
	}
	if r.s.goBin != "" {
		opts = append(opts, build.WithGo(r.s.goBin))
	}
	if r.s.imageBase != "" {
		opts = append(opts, build.WithImageBase(r.s.imageBase))
	}
	return opts
}

// buildCommand is the command an auditor runs to repeat the build stage.
func buildCommand(in Input, src *sourceInfo) []string {
	cmd := []string{"reliquary", "build", ".", "--version", in.Version, "--commit", src.Commit, "--time", src.Time.Format(time.RFC3339)}
	if len(in.Platforms) > 0 {
		cmd = append(cmd, "--platforms", strings.Join(in.Platforms, ","))
	}
	return cmd
}

// digest writes the manifest, declaring the attestations the rest of the run will add so
// that the gate requires them.
func (r *run) digest(ctx context.Context, src *sourceInfo, lock *freeze.Lock, built *build.Output) (*bundle.Manifest, error) {
	var m *bundle.Manifest
	err := r.trail.Run(ctx, "digest", func(ctx context.Context) (trail.Step, error) {
		out, err := digest.Run(ctx, digest.Input{
			Dir: r.stage, Project: built.Project, Version: r.in.Version,
			Source:    bundle.Source{Repository: src.Repository, Ref: src.Ref, Commit: src.Commit, TreeDigest: src.TreeDigest},
			Toolchain: built.Toolchain.Version, BaseImages: baseImages(r.in.Images), Dependencies: lock.Digest,
			Attestations: r.attestations(), Known: built.Artifacts, Algorithms: digest.WithSHA512,
		})
		if err != nil {
			return trail.Step{}, err
		}
		m = out.Manifest
		return trail.Step{
			Command: []string{"reliquary", "digest", ".", "--version", r.in.Version},
			Inputs:  trail.ArtifactFiles(m.Artifacts),
			Outputs: trail.FilesOf(r.stage, bundle.ManifestFile, bundle.ChecksumsFile),
		}, nil
	})
	return m, err
}

func (r *run) attestations() []string {
	a := []string{bundle.AttestProvenance, bundle.AttestLinks}
	if r.s.reproduce {
		a = append(a, bundle.AttestReproducibility)
	}
	return append(a, r.s.attestations...)
}

// sign signs the manifest and ships the public key in keys/.
func (r *run) sign(ctx context.Context, m *bundle.Manifest) error {
	return r.trail.Run(ctx, "sign", func(ctx context.Context) (trail.Step, error) {
		res, err := sign.Manifest(r.stage, r.in.KeyName, r.in.Key)
		if err != nil {
			return trail.Step{}, err
		}
		r.s.log.Info("signed", "manifest", bundle.ManifestFile, "key_fingerprint", res.Fingerprint)
		return trail.Step{
			Command: []string{"reliquary", "sign", ".", "--key", r.in.KeyName + ".key"},
			Inputs:  trail.FilesOf(r.stage, bundle.ManifestFile),
			Outputs: trail.FilesOf(r.stage, bundle.ManifestSigFile, filepath.ToSlash(filepath.Join(bundle.KeysDir, r.in.KeyName+".pub"))),
		}, nil
	})
}

func baseImages(refs []string) []bundle.Image {
	var out []bundle.Image
	for _, ref := range refs {
		name, dig, ok := strings.Cut(ref, "@")
		if ok {
			out = append(out, bundle.Image{Name: name, Digest: dig})
		}
	}
	return out
}
