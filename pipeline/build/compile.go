package build

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// built is one binary on disk.
type built struct {
	platform Platform
	target   Target
	path     string // absolute, in the work dir
	name     string // file name in archives: binary plus .exe on windows
}

// job is one go build: one platform, one or more main packages (one invocation builds them
// all, so the go command compiles shared packages once).
type job struct {
	platform Platform
	targets  []Target
	cmd      Command
	outDir   string // absolute; the binaries land here under their default names
}

// noDWARF tells the compiler not to generate debug information for any package: the linker's
// -w drops it from every binary anyway, so generating it is wasted work (about 5% of a cold
// build's CPU time). It is recorded in the binaries' build info like any flag.
const noDWARF = "-gcflags=all=-dwarf=false"

// ldflags is the linker flag string: stripped, no build ID, and the stamps.
func (r *runner) ldflags() (string, []Skip) {
	st := r.cfg.StampVars()
	flags := []string{"-s", "-w", "-buildid="}
	var skips []Skip
	add := func(sym, val, what string) {
		switch {
		case sym == "":
		case val == "":
			skips = append(skips, Skip{What: "stamp " + sym, Reason: "no " + what + " known (pass one, or build in a git checkout)"})
		default:
			flags = append(flags, "-X", sym+"="+val)
		}
	}
	add(st.Version, r.version, "version")
	add(st.Commit, r.commit, "commit")
	add(st.Date, r.time.UTC().Format(time.RFC3339), "date")
	return strings.Join(flags, " "), skips
}

// jobs lists the builds with their exact commands: one per platform, split only when two
// main packages would get the same default binary name.
func (r *runner) jobs(targets []Target) []job {
	ld, skips := r.ldflags()
	r.out.Skipped = append(r.out.Skipped, skips...)
	var js []job
	for _, p := range r.platforms {
		for n, batch := range batches(targets) {
			rel := path.Join("bin", p.dirName(), strconv.Itoa(n)) + "/"
			env := append(r.host.recordedEnv(), platformEnv(p)...)
			sort.Strings(env)
			args := []string{"build", "-trimpath", "-buildvcs=false", noDWARF, "-ldflags=" + ld, "-o", rel}
			for _, t := range batch {
				args = append(args, t.Main)
			}
			js = append(js, job{platform: p, targets: batch, outDir: filepath.Join(r.work, filepath.FromSlash(rel)),
				cmd: Command{Platform: p.String(), Targets: batch, Dir: ".", Env: env, Args: args}})
		}
	}
	return js
}

// batches splits targets so that no two in a batch share a default binary name (`go build
// -o dir/` names each binary after its package and refuses duplicates).
func batches(targets []Target) [][]Target {
	var out [][]Target
	var used []map[string]bool
	for _, t := range targets {
		name := defaultName(t.ImportPath)
		i := 0
		for i < len(out) && used[i][name] {
			i++
		}
		if i == len(out) {
			out = append(out, nil)
			used = append(used, map[string]bool{})
		}
		out[i] = append(out[i], t)
		used[i][name] = true
	}
	return out
}

// compileAll runs the builds, at most r.s.parallel at a time. The first failure cancels the
// builds not yet finished; every real failure is reported.
func (r *runner) compileAll(ctx context.Context, js []job, rd *readiness) error {
	keys, err := r.cacheKeys(js)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.s.parallel)
	errs := make([]error, len(js))
	var wg sync.WaitGroup
	for i := range js {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if errs[i] = r.compileCached(ctx, js[i], keys[i]); errs[i] != nil {
				cancel()
				return
			}
			rd.done(js[i])
		}(i)
	}
	wg.Wait()
	if err := firstErrors(ctx, errs); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Strings(r.out.Cached)
	for _, j := range js {
		r.out.Commands = append(r.out.Commands, j.cmd)
	}
	return nil
}

// firstErrors joins the failures that are not cancellations caused by another failure.
func firstErrors(ctx context.Context, errs []error) error {
	var real []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			real = append(real, e)
		}
	}
	if len(real) == 0 {
		if err := ctx.Err(); err != nil && hasAny(errs) {
			return err
		}
		return nil
	}
	return errors.Join(real...)
}

func hasAny(errs []error) bool {
	for _, e := range errs {
		if e != nil {
			return true
		}
	}
	return false
}

// compileCached takes the job's binaries from the binary cache when they are there, and
// otherwise compiles them and stores them. A cache that cannot be read or written is
// logged and the build goes on: the cache only saves time.
func (r *runner) compileCached(ctx context.Context, j job, key string) error {
	if key == "" {
		return r.compile(ctx, j)
	}
	c := binCache{dir: r.s.binCache}
	hit, err := c.get(key, j.outDir, j.names())
	if err != nil {
		r.s.log.Warn("build: binary cache entry unusable, linking again", "platform", j.platform.String(), "err", err)
		c.drop(key) // so that the fresh link replaces it
	}
	if hit {
		r.mu.Lock()
		for _, t := range j.targets {
			r.out.Cached = append(r.out.Cached, j.platform.String()+" "+t.Binary+j.platform.exe())
		}
		r.mu.Unlock()
		r.s.log.Info("build: from the binary cache", "platform", j.platform.String(), "binaries", len(j.targets), "key", key)
		return nil
	}
	if err := r.compile(ctx, j); err != nil {
		return err
	}
	if err := c.put(key, j.outDir, j.names()); err != nil {
		r.s.log.Warn("build: binary cache not written", "platform", j.platform.String(), "err", err)
	}
	return nil
}

// compile runs one go build in the source directory.
func (r *runner) compile(ctx context.Context, j job) error {
	start := time.Now()
	args := append([]string(nil), j.cmd.Args...)
	for i := range args {
		if i > 0 && args[i-1] == "-o" {
			args[i] = j.outDir + string(filepath.Separator)
		}
	}
	env := append(append([]string(nil), j.cmd.Env...), r.host.hostEnv(r.work)...)
	if _, err := runGo(ctx, r.host.bin, r.source, env, args...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("build: %s: %w", j.platform, err)
	}
	r.s.log.Info("build: built", "platform", j.platform.String(), "binaries", len(j.targets), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
