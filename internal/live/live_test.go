package live_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/live"
)

// lastFrame is what the terminal shows at the end: the text after the last "erase down".
func lastFrame(out string) string {
	if i := strings.LastIndex(out, "\x1b[J"); i >= 0 {
		return out[i+len("\x1b[J"):]
	}
	return out
}

func TestDisplay(t *testing.T) {
	var term, file bytes.Buffer
	d := live.New(&term, []string{"source", "build", "digest", "sign"}, slog.NewJSONHandler(&file, nil), time.Hour)
	log := slog.New(d)
	log.Info("stage start", "stage", "source")
	log.Info("stage end", "stage", "source", "status", "ok")
	log.Info("stage start", "stage", "build")
	log.Info("build: compiling", "platforms", "linux/amd64,windows/amd64")
	log.Info("build: built", "platform", "linux/amd64")
	if f := lastFrame(term.String()); !strings.Contains(f, "1/2 platforms: linux/amd64 ✓, windows/amd64 …") || !strings.Contains(f, "▸ build") {
		t.Errorf("mid-build frame:\n%s", f)
	}
	log.Info("stage progress", "stage", "build", "detail", "linking")
	if f := lastFrame(term.String()); !strings.Contains(f, "▸ build") || !strings.Contains(f, "linking  1/2 platforms") {
		t.Errorf("the running stage's progress is not shown:\n%s", f)
	}
	log.Info("build: from the binary cache", "platform", "windows/amd64")
	log.Info("stage end", "stage", "build", "status", "ok")
	log.Warn("something odd", "file", "x")
	log.Info("stage start", "stage", "notlisted")
	log.Info("stage end", "stage", "notlisted", "status", "ok")
	log.Info("stage start", "stage", "digest")
	log.Error("stage end", "stage", "digest", "status", "failed")
	d.Close("release failed")
	out := term.String()
	f := lastFrame(out)
	for _, want := range []string{"✓ notlisted", "✓ source", "✓ build", "2/2 platforms: linux/amd64 ✓, windows/amd64 (cached)", "✗ digest", "failed after", "· sign", "release failed"} {
		if !strings.Contains(f, want) {
			t.Errorf("final frame lacks %q:\n%s", want, f)
		}
	}
	if !strings.Contains(out, "WARN something odd file=x") {
		t.Errorf("the warning was not shown:\n%s", out)
	}
	if n := strings.Count(file.String(), "\n"); n != 13 {
		t.Errorf("the log file got %d records, want 13:\n%s", n, file.String())
	}
}
