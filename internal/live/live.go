// Package live draws a run's stages on a terminal as they happen: one line per stage with
// its status and elapsed time, and the build's per-platform progress. It is a slog.Handler:
// the stages already log "stage start" and "stage end" (pipeline/trail) and the build logs
// each platform, so the display reads the same records the log file gets, and nothing in
// pipeline/ knows a terminal exists.
package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Display is the live list. Create it with New, use it as the run's slog handler, and call
// Close when the run ends.
type Display struct {
	st   *state
	next slog.Handler // the detailed log (a file); may be nil
}

var _ slog.Handler = (*Display)(nil)

type stage struct {
	name, status string // status: "", "running", "ok", "failed", "skipped: ..."
	progress     string // how far a running stage has got, from its "stage progress" records
	start, end   time.Time
}

type state struct {
	mu        sync.Mutex
	w         io.Writer
	now       func() time.Time
	stages    []*stage
	platforms []string        // the build's, in order, once it says them
	built     map[string]bool // platform -> done (true) from the cache or a link
	cached    map[string]bool
	drawn     int // lines drawn last time, to move back over
	stop      chan struct{}
	done      chan struct{}
}

// New draws the stage list on w (a terminal) and redraws it every tick while the run
// goes on; records also go to next when it is not nil.
func New(w io.Writer, stages []string, next slog.Handler, tick time.Duration) *Display {
	st := &state{w: w, now: time.Now, built: map[string]bool{}, cached: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, n := range stages {
		st.stages = append(st.stages, &stage{name: n})
	}
	st.draw()
	go st.tick(tick)
	return &Display{st: st, next: next}
}

func (s *state) tick(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.draw()
		case <-s.stop:
			return
		}
	}
}

// Close stops the ticker, draws the final list and prints the summary lines under it.
func (d *Display) Close(summary ...string) {
	close(d.st.stop)
	<-d.st.done
	d.st.draw()
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	for _, l := range summary {
		fmt.Fprintln(d.st.w, l)
	}
	d.st.drawn = 0
}

// Enabled is true for what the display shows or the log file wants.
func (d *Display) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (d.next != nil && d.next.Enabled(ctx, l))
}

// Handle updates the list from one record and passes the record on.
func (d *Display) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if d.next != nil && d.next.Enabled(ctx, r.Level) {
		err = d.next.Handle(ctx, r)
	}
	if d.st.update(r) {
		d.st.draw()
	}
	return err
}

// WithAttrs and WithGroup keep the display and pass the attributes to the log file.
func (d *Display) WithAttrs(as []slog.Attr) slog.Handler {
	c := *d
	if d.next != nil {
		c.next = d.next.WithAttrs(as)
	}
	return &c
}

func (d *Display) WithGroup(name string) slog.Handler {
	c := *d
	if d.next != nil {
		c.next = d.next.WithGroup(name)
	}
	return &c
}

// update applies a record; it reports whether the list changed.
func (s *state) update(r slog.Record) bool {
	a := attrs(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Message {
	case "stage start":
		st := s.stage(a["stage"])
		st.status, st.start = "running", r.Time
	case "stage end":
		st := s.stage(a["stage"])
		st.status, st.end = a["status"], r.Time
		if st.start.IsZero() {
			st.start = r.Time
		}
	case "stage progress":
		s.stage(a["stage"]).progress = a["detail"]
	case "build: compiling":
		s.platforms = strings.Split(a["platforms"], ",")
	case "build: built", "build: from the binary cache":
		s.built[a["platform"]] = true
		s.cached[a["platform"]] = r.Message != "build: built"
	default:
		if r.Level >= slog.LevelWarn {
			s.clear()
			fmt.Fprintf(s.w, "%s %s\n", r.Level, line(r.Message, a))
		}
		return r.Level >= slog.LevelWarn
	}
	return true
}

// stage returns the named stage, adding one the list did not name (a stage the caller
// did not know of still shows).
func (s *state) stage(name string) *stage {
	if i := slices.IndexFunc(s.stages, func(st *stage) bool { return st.name == name }); i >= 0 {
		return s.stages[i]
	}
	st := &stage{name: name}
	s.stages = append(s.stages, st)
	return st
}

func (s *state) draw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	var b strings.Builder
	for _, st := range s.stages {
		b.WriteString(s.render(st))
		b.WriteString("\n")
	}
	io.WriteString(s.w, b.String())
	s.drawn = len(s.stages)
}

// clear moves the cursor back to the top of the list and erases it.
func (s *state) clear() {
	if s.drawn > 0 {
		fmt.Fprintf(s.w, "\x1b[%dA\x1b[J", s.drawn)
		s.drawn = 0
	}
}

func (s *state) render(st *stage) string {
	var mark, detail string
	switch {
	case st.status == "":
		mark = "  ·"
	case st.status == "running":
		mark, detail = "  ▸", fmtDur(s.now().Sub(st.start))
		if st.progress != "" {
			detail += "  " + st.progress
		}
	case st.status == "ok":
		mark, detail = "  ✓", fmtDur(st.end.Sub(st.start))
	case st.status == "failed":
		mark, detail = "  ✗", "failed after "+fmtDur(st.end.Sub(st.start))
	default:
		mark, detail = "  –", st.status
	}
	if st.name == "build" && len(s.platforms) > 0 && st.status != "" {
		detail += "  " + s.buildProgress()
	}
	return fmt.Sprintf("%s %-16s %s", mark, st.name, detail)
}

func (s *state) buildProgress() string {
	n := 0
	var parts []string
	for _, p := range s.platforms {
		switch {
		case s.cached[p]:
			n++
			parts = append(parts, p+" (cached)")
		case s.built[p]:
			n++
			parts = append(parts, p+" ✓")
		default:
			parts = append(parts, p+" …")
		}
	}
	return fmt.Sprintf("%d/%d platforms: %s", n, len(s.platforms), strings.Join(parts, ", "))
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func line(msg string, a map[string]string) string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, a[k])
	}
	return b.String()
}
