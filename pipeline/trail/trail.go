// Package trail records what each stage of a release did: when it started and ended, the
// command it stands for, and the digests of what it read and wrote. Every record is also
// emitted as a structured log line, so the audit summary, the in-toto links and the logs are
// all derived from one source and cannot disagree.
package trail

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// File is a path and its sha256 (hex), as read or written by a stage.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Record is one stage's entry in the trail.
type Record struct {
	Stage   string    `json:"stage"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Command []string  `json:"command,omitempty"`
	Inputs  []File    `json:"inputs,omitempty"`
	Outputs []File    `json:"outputs,omitempty"`
	Status  string    `json:"status"` // "ok", "failed" or "skipped: REASON"
	Error   string    `json:"error,omitempty"`
	// Notes is what the stage reported besides its files (Step.Notes).
	Notes map[string]string `json:"notes,omitempty"`
}

// Duration is how long the stage ran.
func (r Record) Duration() time.Duration { return r.End.Sub(r.Start) }

// Step is what a stage reports back to the trail when it finishes.
type Step struct {
	Command []string
	Inputs  []File
	Outputs []File
	// Notes is what the stage reports besides its files, for its in-toto link's byproducts:
	// the build says which binaries and artifacts came from its caches.
	Notes map[string]string
}

// Trail collects records in the order stages finish. Safe for concurrent use.
type Trail struct {
	log     *slog.Logger
	now     func() time.Time
	mu      sync.Mutex
	records []Record
}

// New returns a trail that logs to log (nil: discard).
func New(log *slog.Logger) *Trail {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Trail{log: log, now: time.Now}
}

// Run runs one stage, logs its start and end, and records the step it returns. The stage's
// error is returned unchanged.
func (t *Trail) Run(ctx context.Context, stage string, fn func(context.Context) (Step, error)) error {
	start := t.now()
	t.log.InfoContext(ctx, "stage start", "stage", stage)
	step, err := fn(ctx)
	rec := Finished(stage, start, t.now(), step)
	if err != nil {
		rec.Status, rec.Error = "failed", err.Error()
	}
	t.add(ctx, rec)
	return err
}

// Progress logs how far a running stage has got ("round 3/10"), for a live display; it is not
// recorded: the stage's end is.
func Progress(ctx context.Context, log *slog.Logger, stage, detail string) {
	log.InfoContext(ctx, "stage progress", "stage", stage, "detail", detail)
}

// Skip records a stage that did not run, and why: a skipped stage is a result, not a gap.
func (t *Trail) Skip(ctx context.Context, stage, reason string) {
	now := t.now().UTC()
	t.add(ctx, Record{Stage: stage, Start: now, End: now, Status: "skipped: " + reason})
}

func (t *Trail) add(ctx context.Context, rec Record) {
	t.mu.Lock()
	t.records = append(t.records, rec)
	t.mu.Unlock()
	level := slog.LevelInfo
	if rec.Status == "failed" {
		level = slog.LevelError
	}
	t.log.Log(ctx, level, "stage end", "stage", rec.Stage, "status", rec.Status, "start", rec.Start, "end", rec.End,
		"duration_ms", rec.Duration().Milliseconds(), "command", rec.Command, "inputs", rec.Inputs, "outputs", rec.Outputs, "error", rec.Error)
}

// Records returns a copy of the trail so far.
func (t *Trail) Records() []Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Record(nil), t.records...)
}
