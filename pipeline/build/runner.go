package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/config"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// commitRE bounds what may be stamped as a commit: it ends up inside -ldflags.
var commitRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// runner is one build in progress.
type runner struct {
	s          *settings
	source     string // absolute
	cfg        *config.Config
	host       *hostGo
	version    string
	commit     string
	time       time.Time
	timeSource string
	platforms  []Platform
	module     string
	project    string
	work       string     // temporary: binaries and HOME
	artifacts  string     // OutDir/artifacts
	mu         sync.Mutex // guards out while packaging runs in parallel
	out        *Output
}

func newRunner(ctx context.Context, in Input, s *settings) (*runner, error) {
	if err := findGo(s); err != nil {
		return nil, err
	}
	r := &runner{s: s, version: in.Version, cfg: in.Config}
	if err := r.checkInput(in); err != nil {
		return nil, err
	}
	var err error
	if r.host, err = probeGo(ctx, s, r.source); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if err := r.checkLock(); err != nil {
		return nil, err
	}
	if err := r.resolvePlatforms(in.Platforms); err != nil {
		return nil, err
	}
	if r.time, r.timeSource, err = resolveTime(ctx, r.source, s); err != nil {
		return nil, err
	}
	r.commit = resolveCommit(ctx, r.source, in.Commit)
	if r.commit != "" && !commitRE.MatchString(r.commit) {
		return nil, fmt.Errorf("build: commit %q: want letters, digits, . _ - (at most 128)", r.commit)
	}
	if r.work, err = os.MkdirTemp("", "reliquary-build-"); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if r.module, err = r.moduleInfo(ctx); err != nil {
		os.RemoveAll(r.work)
		return nil, fmt.Errorf("build: %w", err)
	}
	if r.project, err = r.projectName(); err != nil {
		os.RemoveAll(r.work)
		return nil, err
	}
	return r, nil
}

func (r *runner) checkInput(in Input) error {
	if !config.ValidName(in.Version) {
		return fmt.Errorf("build: version %q: want letters, digits, . _ + - (it names files and is stamped)", in.Version)
	}
	if in.OutDir == "" {
		return fmt.Errorf("build: no output directory")
	}
	src, err := filepath.Abs(in.Source)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		return fmt.Errorf("build: %s is not a Go module root: %w", in.Source, err)
	}
	r.source = src
	if r.cfg == nil {
		if r.cfg, err = config.Load(src); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	r.artifacts = filepath.Join(in.OutDir, filepath.FromSlash(bundle.ArtifactsDir))
	if err := emptyDir(filepath.Join(in.OutDir, sbom.Dir)); err != nil {
		return err
	}
	return emptyDir(r.artifacts)
}

// emptyDir makes dir, or checks that it is empty, so no stale file is released.
func emptyDir(dir string) error {
	des, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("build: %w", err)
	case len(des) > 0:
		return fmt.Errorf("build: %s is not empty: build into a new output directory, so no stale artifact is released", dir)
	}
	return nil
}

// checkLock refuses to build with another toolchain, go.mod or go.sum than the lock's.
func (r *runner) checkLock() error {
	l := r.s.lock
	if l == nil {
		return nil
	}
	if l.Toolchain.Version() != r.host.toolchain.Version {
		return fmt.Errorf("build: deps.lock.json was frozen with %s, but the toolchain is %s", l.Toolchain.Version(), r.host.toolchain.Version)
	}
	for _, f := range []struct{ name, want string }{{"go.mod", l.Files.GoMod}, {"go.sum", l.Files.GoSum}} {
		data, err := os.ReadFile(filepath.Join(r.source, f.name))
		if errors.Is(err, fs.ErrNotExist) && f.want == "" {
			continue
		}
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != f.want {
			return fmt.Errorf("build: %s changed since deps.lock.json was written (%s, lock says %s): freeze again", f.name, got, f.want)
		}
	}
	return nil
}

func (r *runner) resolvePlatforms(given []string) error {
	names := given
	if len(names) == 0 {
		names = r.cfg.PlatformList()
	}
	seen := map[string]bool{}
	for _, n := range names {
		p, err := ParsePlatform(n)
		if err != nil {
			return err
		}
		if !r.host.ports[p.OS+"/"+p.Arch] {
			return fmt.Errorf("build: platform %s: %s cannot build for it (see go tool dist list)", n, r.host.toolchain.Version)
		}
		if seen[p.String()] {
			return fmt.Errorf("build: platform %s listed twice", n)
		}
		seen[p.String()] = true
		r.platforms = append(r.platforms, p)
	}
	sort.Slice(r.platforms, func(i, j int) bool { return r.platforms[i].String() < r.platforms[j].String() })
	return nil
}

func (r *runner) projectName() (string, error) {
	name := r.cfg.Project
	if name == "" {
		name = defaultName(r.module)
	}
	if !config.ValidName(name) {
		return "", fmt.Errorf("build: project name %q is not a valid file name: set project in %s", name, config.FileName)
	}
	return name, nil
}

// baseEnv is the clean environment for go commands other than the cross-compiles.
func (r *runner) baseEnv() []string {
	return append(r.host.recordedEnv(), r.host.hostEnv(r.work)...)
}

func (r *runner) run(ctx context.Context) (*Output, error) {
	targets, err := r.targets(ctx)
	if err != nil {
		return nil, err
	}
	r.out = &Output{
		Schema: Schema, Project: r.project, Module: r.module, Version: r.version, Commit: r.commit,
		CommitTime: r.time, TimeSource: r.timeSource, Toolchain: r.host.toolchain,
		Targets: targets, OutDir: filepath.Dir(r.artifacts),
	}
	for _, p := range r.platforms {
		r.out.Platforms = append(r.out.Platforms, p.String())
	}
	r.s.log.Info("build: compiling", "project", r.project, "version", r.version,
		"platforms", strings.Join(r.out.Platforms, ","), "binaries", len(targets), "parallel", r.s.parallel)
	bins, err := r.compileAndPack(ctx, targets)
	if err != nil {
		return nil, err
	}
	if err := r.writeSBOMs(bins); err != nil {
		r.removeOutputs()
		return nil, err
	}
	r.out.Artifacts.Sort()
	sort.Slice(r.out.Skipped, func(i, j int) bool { return r.out.Skipped[i].What < r.out.Skipped[j].What })
	if err := r.out.Validate(); err != nil {
		return nil, fmt.Errorf("build: output: %w", err)
	}
	return r.out, nil
}
