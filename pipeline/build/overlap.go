package build

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"sync"
)

// readiness tracks which platforms have all their binaries, so that packaging one platform
// (its archive, the image once every linux platform is there) runs while the others still
// compile, and the docs bundle, which needs no binary, runs from the start.
type readiness struct {
	mu      sync.Mutex
	pending map[string]int           // platform -> jobs not yet finished
	ready   map[string]chan struct{} // closed once the platform's jobs are all done
}

func newReadiness(js []job) *readiness {
	rd := &readiness{pending: map[string]int{}, ready: map[string]chan struct{}{}}
	for _, j := range js {
		p := j.platform.String()
		rd.pending[p]++
		if rd.ready[p] == nil {
			rd.ready[p] = make(chan struct{})
		}
	}
	return rd
}

// done marks one job finished.
func (rd *readiness) done(j job) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	p := j.platform.String()
	if rd.pending[p]--; rd.pending[p] == 0 {
		close(rd.ready[p])
	}
}

// wait blocks until every platform given has its binaries, or ctx ends.
func (rd *readiness) wait(ctx context.Context, platforms ...Platform) error {
	for _, p := range platforms {
		ch := rd.ready[p.String()]
		if ch == nil {
			continue // no job builds for it: nothing to wait for
		}
		select {
		case <-ch:
			continue // ready: no need to look at ctx
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// binsOf lists the binaries the jobs will write, before they run (their paths are fixed).
func binsOf(js []job) []built {
	var out []built
	for _, j := range js {
		for _, t := range j.targets {
			out = append(out, built{platform: j.platform, target: t,
				path: filepath.Join(j.outDir, defaultName(t.ImportPath)+j.platform.exe()),
				name: t.Binary + j.platform.exe()})
		}
	}
	return out
}

// compileAndPack compiles and packages side by side: each packaging task waits only for
// the binaries it packs. A compile failure cancels the packaging, which then removes what
// it wrote. It returns the binaries, for the SBOMs.
func (r *runner) compileAndPack(ctx context.Context, targets []Target) ([]built, error) {
	js := r.jobs(targets)
	bins := binsOf(js)
	rd := newReadiness(js)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	packed := make(chan error, 1)
	go func() {
		err := r.pack(ctx, bins, rd)
		if err != nil {
			cancel() // no use compiling what cannot be packed
		}
		packed <- err
	}()
	cerr := r.compileAll(ctx, js, rd)
	if cerr != nil {
		cancel()
	}
	perr := <-packed
	sort.Strings(r.out.CachedArtifacts)
	if cerr != nil && (perr == nil || !errors.Is(cerr, context.Canceled)) {
		return nil, cerr
	}
	return bins, perr
}
