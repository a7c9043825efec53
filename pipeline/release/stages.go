package release

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// VerifyMemoDir is where, under the binary cache, the freeze stage remembers the module
// caches go mod verify passed (freeze.WithVerifyMemo).
const VerifyMemoDir = "verified"

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
		if r.s.binCache != "" && !r.s.reproduce {
			// Beside the binaries it vouches for: one cache, one --no-binary-cache.
			opts = append(opts, freeze.WithVerifyMemo(filepath.Join(r.s.binCache, VerifyMemoDir)))
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
func (r *run) build(ctx context.Context, src *SourceInfo, lock *freeze.Lock) (*build.Output, error) {
	var out *build.Output
	err := r.trail.Run(ctx, "build", func(ctx context.Context) (trail.Step, error) {
		var err error
		opts := r.buildOptions(src, lock, r.s.goCache)
		if r.s.binCache != "" && !r.s.reproduce {
			opts = append(opts, build.WithBinaryCache(r.s.binCache))
		}
		out, err = build.Run(ctx, r.buildInput(src, r.stage), opts...)
		if err != nil {
			return trail.Step{}, err
		}
		return trail.BuildStep(buildCommand(r.in, src), src.TreeDigest, filepath.Join(r.stage, bundle.DepsLockFile), out.Products(), out.CacheNotes()), nil
	})
	return out, err
}

func (r *run) buildInput(src *SourceInfo, outDir string) build.Input {
	return build.Input{Source: r.in.Source, Version: r.in.Version, Commit: src.Commit, Platforms: r.in.Platforms, OutDir: outDir}
}

func (r *run) buildOptions(src *SourceInfo, lock *freeze.Lock, goCache string) []build.Option {
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
func buildCommand(in Input, src *SourceInfo) []string {
	cmd := []string{"reliquary", "build", ".", "--version", in.Version, "--commit", src.Commit, "--time", src.Time.Format(time.RFC3339)}
	if len(in.Platforms) > 0 {
		cmd = append(cmd, "--platforms", strings.Join(in.Platforms, ","))
	}
	return cmd
}

// digest writes the manifest, declaring the attestations the rest of the run will add so
// that the gate requires them.
func (r *run) digest(ctx context.Context, src *SourceInfo, lock *freeze.Lock, built *build.Output) (*bundle.Manifest, error) {
	var m *bundle.Manifest
	err := r.trail.Run(ctx, "digest", func(ctx context.Context) (trail.Step, error) {
		out, err := digest.Run(ctx, digest.Input{
			Dir: r.stage, Project: built.Project, Version: r.in.Version,
			Source:    bundle.Source{Repository: src.Repository, Ref: src.Ref, Commit: src.Commit, TreeDigest: src.TreeDigest},
			Toolchain: built.Toolchain.Version, BaseImages: baseImages(r.in.Images), Dependencies: lock.Digest,
			Attestations: r.attestations(), Known: built.Artifacts, Algorithms: digest.SHA256Only,
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
