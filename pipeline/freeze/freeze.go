// Package freeze is the freeze stage: it checks that a Go module's dependency set is frozen
// and records it as a Lock (deps.lock.json), and fills the module cache so that the build
// stage can run with GOPROXY=off.
//
// Contract: Run never modifies the source tree (go commands run with -modfile pointing at
// copies of go.mod and go.sum in a temporary directory). It checks that go.mod and go.sum are
// tidy and complete (`go mod tidy -diff`), that every needed module downloads and matches
// go.sum (`go mod download`) and that the module cache is intact (`go mod verify`), that no
// replace points at a directory outside the source tree, that base images are pinned by
// digest, and picks the toolchain the builds run with: the one go.mod pins (its toolchain
// line, else a go line newer than the local Go), which it fetches into the module cache
// through the module proxy, checked by the checksum database, or the local go command's
// (nothing pinned, or WithToolchain(ToolchainLocal)); the go line must not be newer than
// it. It reports every problem found, not only the first, as a *NotFrozenError. Only the checks in Allowable may be waived (Allow); a waiver and the
// problems it let through are recorded in the lock.
//
// Freezing needs the network (the module proxy) unless the module cache already holds every
// module; the lock, once written, is checked offline.
package freeze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Input is what the freeze stage checks.
type Input struct {
	// Dir is the module root: the directory holding go.mod.
	Dir string
	// Images are base image references that must be pinned by digest (name@sha256:...).
	Images []string
}

// Option adjusts Run. Options that cannot apply fail Run before it starts.
type Option func(*settings) error

type settings struct {
	allowed   map[Check]bool
	toolchain string // ToolchainGoMod or ToolchainLocal
	goBin     string
	modCache  string
	log       *slog.Logger
	// verifyMemo is where module caches go mod verify passed are remembered; "" for none.
	verifyMemo string
}

// Allow waives the given checks. Only the checks in Allowable may be waived.
func Allow(checks ...Check) Option {
	return func(s *settings) error {
		for _, c := range checks {
			if c == CheckToolchain {
				return fmt.Errorf("freeze: check %q cannot be waived any more: builds run with the toolchain go.mod pins; to build with the local one instead, choose it with --toolchain local (WithToolchain), which the lock records", c)
			}
			if !allowable[c] {
				return fmt.Errorf("freeze: check %q cannot be waived (waivable: %v)", c, Allowable())
			}
			s.allowed[c] = true
		}
		return nil
	}
}

// WithGo runs the given go binary instead of the one on PATH.
func WithGo(path string) Option {
	return func(s *settings) error { s.goBin = path; return nil }
}

// WithModCache downloads into dir (GOMODCACHE) instead of the default module cache. The
// build stage must then be given the same directory.
func WithModCache(dir string) Option {
	return func(s *settings) error {
		abs, err := filepath.Abs(dir)
		s.modCache = abs
		return err
	}
}

// WithLogger logs each step to l.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.log = l; return nil }
}

// maxModFile bounds go.mod and go.sum.
const maxModFile = 16 << 20

// Run checks the module in in.Dir and returns its Lock, or a *NotFrozenError listing every
// problem. Other errors (no go.mod, no go binary) are returned as they are.
func Run(ctx context.Context, in Input, opts ...Option) (*Lock, error) {
	s := &settings{allowed: map[Check]bool{}, toolchain: ToolchainGoMod, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	st, err := newState(ctx, in, s)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(st.tmp)
	return st.run(ctx, in)
}

// state is one freeze run in progress.
type state struct {
	s            *settings
	root         string // module root, absolute, symlinks evaluated
	tmp          string // holds the go.mod/go.sum copies the go commands use, in tmp/mod
	goMod, goSum []byte
	local        string // local toolchain version, like go1.26.8
	tc           Toolchain
	gocmd        goCmd
	problems     []Problem
}

func newState(ctx context.Context, in Input, s *settings) (*state, error) {
	root, err := filepath.Abs(in.Dir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	st := &state{s: s, root: root}
	if st.goMod, err = readLimited(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("freeze: %s is not a Go module root: %w", in.Dir, err)
	}
	if st.goSum, err = readLimited(filepath.Join(root, "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	if s.goBin == "" {
		if s.goBin, err = exec.LookPath("go"); err != nil {
			return nil, fmt.Errorf("freeze: the go command is needed: %w", err)
		}
	}
	st.gocmd = goCmd{bin: s.goBin, dir: root, env: freezeEnv(s.modCache)}
	res, err := st.gocmd.run(ctx, "env", "GOVERSION")
	if err != nil || res.code != 0 {
		return nil, fmt.Errorf("freeze: go env GOVERSION: %v %s", err, res.message())
	}
	st.local = strings.TrimSpace(string(res.stdout))
	if st.tmp, err = os.MkdirTemp("", "reliquary-freeze-"); err != nil {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	if err := st.writeCopies(); err != nil {
		os.RemoveAll(st.tmp)
		return nil, err
	}
	return st, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxModFile+1))
	if err == nil && len(data) > maxModFile {
		err = fmt.Errorf("%s: larger than %d bytes", name, maxModFile)
	}
	return data, err
}

// writeCopies puts go.mod and go.sum where -modfile points, so go commands that write
// go.sum (go mod download does) never touch the source tree. They go in a subdirectory:
// st.tmp itself is outside any module.
func (st *state) writeCopies() error {
	if err := os.Mkdir(filepath.Join(st.tmp, "mod"), 0o700); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if err := os.WriteFile(st.modPath(), st.goMod, 0o600); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if err := os.WriteFile(filepath.Join(st.tmp, "mod", "go.sum"), st.goSum, 0o600); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	return nil
}

func (st *state) modPath() string { return filepath.Join(st.tmp, "mod", "go.mod") }

func (st *state) modfileFlag() string { return "-modfile=" + st.modPath() }

func (st *state) run(ctx context.Context, in Input) (*Lock, error) {
	mf, err := st.editJSON(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.toolchain(ctx, mf); err != nil {
		return nil, err
	}
	locals, ps := localReplaces(mf, st.root)
	st.problems = append(st.problems, ps...)
	if err := st.tidy(ctx); err != nil {
		return nil, err
	}
	mods, dls, err := st.download(ctx)
	if err != nil {
		return nil, err
	}
	memoHit, err := st.verify(ctx, dls)
	if err != nil {
		return nil, err
	}
	images, ps := checkImages(in.Images)
	st.problems = append(st.problems, ps...)
	mods = attachReplaces(mods, mf)
	localMods, err := st.localModules(locals)
	if err != nil {
		return nil, err
	}
	lock, err := st.lock(mf, append(mods, localMods...), images)
	if lock != nil {
		lock.memoHit = memoHit
	}
	return lock, err
}

// toolchain picks and fetches the build toolchain, and runs the further go commands with
// it when the local one cannot read go.mod. A go line no toolchain at hand can build, or a
// pinned toolchain that does not fetch, ends the run: every further go command would fail
// the same way.
func (st *state) toolchain(ctx context.Context, mf modFile) error {
	ps := st.selectToolchain(mf)
	if len(ps) == 0 && st.tc.Pinned != nil {
		ps = st.fetchToolchain(ctx)
	}
	if len(ps) > 0 {
		st.problems = append(st.problems, ps...)
		return st.fail()
	}
	st.gocmd.env = overrideToolchain(st.gocmd.env, st.toolchainEnv(mf))
	return nil
}

func hasCheck(ps []Problem, c Check) bool {
	for _, p := range ps {
		if p.Check == c {
			return true
		}
	}
	return false
}

// editJSON reads go.mod through `go mod edit -json`, the go command's own parser.
func (st *state) editJSON(ctx context.Context) (modFile, error) {
	res, err := st.gocmd.run(ctx, "mod", "edit", "-json", st.modPath())
	if err != nil {
		return modFile{}, fmt.Errorf("freeze: %w", err)
	}
	if res.code != 0 {
		return modFile{}, fmt.Errorf("freeze: %s: go.mod does not parse: %s", filepath.Join(st.root, "go.mod"), res.message())
	}
	var mf modFile
	if err := json.Unmarshal(res.stdout, &mf); err != nil {
		return modFile{}, fmt.Errorf("freeze: go mod edit -json: %w", err)
	}
	return mf, nil
}

// tidy runs `go mod tidy -diff` and turns its diff into problems.
func (st *state) tidy(ctx context.Context) error {
	st.s.log.Info("freeze: go mod tidy -diff", "dir", st.root)
	res, err := st.gocmd.run(ctx, "mod", "tidy", "-diff", st.modfileFlag())
	if err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if res.code == 0 {
		return nil
	}
	d, perr := parseTidyDiff(res.stdout)
	ps := d.problems()
	if perr != nil || len(ps) == 0 {
		st.problems = append(st.problems, Problem{CheckTidy, "go.mod", "go mod tidy -diff failed: " + res.message()})
		return nil
	}
	st.problems = append(st.problems, ps...)
	return nil
}

// downloaded is one line of `go mod download -json`: the module and where the module cache
// holds it.
type downloaded struct {
	Path, Version, Error, Sum, GoModSum string
	Dir, Zip, GoMod                     string
}

// download fills the module cache with every module the build needs and returns them.
func (st *state) download(ctx context.Context) ([]Module, []downloaded, error) {
	st.s.log.Info("freeze: go mod download", "dir", st.root)
	res, err := st.gocmd.run(ctx, "mod", "download", "-json", st.modfileFlag())
	if err != nil {
		return nil, nil, fmt.Errorf("freeze: %w", err)
	}
	var mods []Module
	var dls []downloaded
	dec := json.NewDecoder(strings.NewReader(string(res.stdout)))
	for dec.More() {
		var d downloaded
		if err := dec.Decode(&d); err != nil {
			return nil, nil, fmt.Errorf("freeze: go mod download -json: %w", err)
		}
		if d.Error != "" {
			st.problems = append(st.problems, Problem{CheckDownload, d.Path + " " + d.Version, d.Error})
			continue
		}
		mods = append(mods, Module{Path: d.Path, Version: d.Version, Sum: d.Sum, GoModSum: d.GoModSum})
		dls = append(dls, d)
	}
	if res.code != 0 && !hasCheck(st.problems, CheckDownload) {
		st.problems = append(st.problems, Problem{CheckDownload, "go.mod", res.message()})
	}
	return mods, dls, nil
}

// verify runs `go mod verify` over the module cache, unless the verify memo shows the
// cache unchanged since it passed (it then reports true).
func (st *state) verify(ctx context.Context, dls []downloaded) (bool, error) {
	key := ""
	if st.s.verifyMemo != "" && len(st.problems) == 0 {
		if key = st.memoKey(dls); st.memoHit(key) {
			st.s.log.Info("freeze: go mod verify skipped: the module cache is unchanged since it passed", "memo", st.memoPath(key))
			return true, nil
		}
	}
	res, err := st.gocmd.run(ctx, "mod", "verify", st.modfileFlag())
	if err != nil {
		return false, fmt.Errorf("freeze: %w", err)
	}
	if res.code == 0 {
		st.remember(key)
		return false, nil
	}
	for _, line := range strings.Split(strings.TrimSpace(string(res.stdout)+"\n"+string(res.stderr)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			subject, _, _ := strings.Cut(line, ":")
			st.problems = append(st.problems, Problem{CheckVerify, subject, line})
		}
	}
	return false, nil
}

// attachReplaces records module-path replacements on the modules they apply to.
func attachReplaces(mods []Module, mf modFile) []Module {
	for i := range mods {
		for _, r := range mf.Replace {
			if r.New.Version == "" || r.Old.Path != mods[i].Path && r.New.Path != mods[i].Path {
				continue
			}
			mods[i].Replace = &Replace{Path: r.New.Path, Version: r.New.Version}
		}
	}
	return mods
}

// localModules hashes each directory replacement so the lock pins its content.
func (st *state) localModules(locals []localReplace) ([]Module, error) {
	var mods []Module
	for _, l := range locals {
		sum, err := dirSum(l.Abs, l.Old)
		if err != nil {
			return nil, fmt.Errorf("freeze: replace %s => %s: %w", l.Old, l.Path, err)
		}
		mods = append(mods, Module{Path: l.Old, Version: l.Version, Sum: sum,
			Replace: &Replace{Path: filepath.ToSlash(l.Path), Local: true, Outside: l.Outside}})
	}
	return mods, nil
}

// fail returns the problems not waived as a NotFrozenError, or nil.
func (st *state) fail() error {
	var blocking []Problem
	for _, p := range st.problems {
		if !st.s.allowed[p.Check] {
			blocking = append(blocking, p)
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	sortProblems(blocking)
	return &NotFrozenError{Dir: st.root, Problems: blocking}
}

func (st *state) lock(mf modFile, mods []Module, images []Image) (*Lock, error) {
	if err := st.fail(); err != nil {
		return nil, err
	}
	l := &Lock{
		Schema:    Schema,
		Module:    mf.Module.Path,
		Go:        mf.Go,
		Toolchain: st.tc,
		Files:     Files{GoMod: fileDigest(st.goMod)},
		Modules:   mods,
		Images:    images,
		Waived:    st.problems, // every problem left is waived, or fail would have returned
	}
	if len(st.goSum) > 0 {
		l.Files.GoSum = fileDigest(st.goSum)
	}
	for c := range st.s.allowed {
		l.Allowed = append(l.Allowed, c)
	}
	if l.Modules == nil {
		l.Modules = []Module{}
	}
	if err := l.Seal(); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("freeze: lock for %s: %w", st.root, err)
	}
	return l, nil
}
