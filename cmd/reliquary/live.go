package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sentientos/reliquary/internal/live"
	"github.com/sentientos/reliquary/pipeline/release"
)

// liveRun is a command's live display: on a terminal (and with text logs) the stages are
// drawn as they run and the detailed log goes, as JSON, to a file; elsewhere (CI, a pipe,
// --log-format json) the log goes to stderr as before, so CI logs stay machine-readable.
type liveRun struct {
	disp *live.Display
	file *os.File
}

// startLive sets cli.log up for a run of stages. logFile is where the detailed log goes
// when the display is on.
func startLive(cli *cliEnv, fs *flagSet, stages []string, logFile string) (*liveRun, error) {
	if fs.logFormat != "text" || fs.quiet || !stderrIsTerminal(cli) {
		return &liveRun{}, nil
	}
	f, err := os.Create(logFile)
	if err != nil {
		return nil, usagef("log file: %v", err)
	}
	d := live.New(cli.stderr, stages, slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}), 200*time.Millisecond)
	cli.log = slog.New(d)
	return &liveRun{disp: d, file: f}, nil
}

// end draws the final list with the summary under it, and closes the log file.
func (l *liveRun) end(summary ...string) {
	if l.disp == nil {
		return
	}
	l.disp.Close(append(summary, fmt.Sprintf("detailed log: %s", l.file.Name()))...)
	l.file.Close()
}

// releaseStageNames are the stages a release shows, in order; optional ones not asked for
// show as skipped.
func releaseStageNames() []string {
	var out []string
	for _, s := range release.Stages {
		out = append(out, s.Name)
	}
	return out
}
