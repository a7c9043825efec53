package trail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/trail"
)

func TestRunRecordsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	tr := trail.New(slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx := context.Background()
	err := tr.Run(ctx, "digest", func(context.Context) (trail.Step, error) {
		return trail.Step{Command: []string{"reliquary", "digest"}, Outputs: []trail.File{{Path: "manifest.json", SHA256: "ab"}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := tr.Run(ctx, "sign", func(context.Context) (trail.Step, error) { return trail.Step{}, boom }); err != boom {
		t.Fatalf("Run returned %v, want the stage's error", err)
	}
	tr.Skip(ctx, "bench", "no --bench")
	recs := tr.Records()
	if len(recs) != 3 || recs[0].Stage != "digest" || recs[0].Status != "ok" || recs[1].Status != "failed" || recs[1].Error != "boom" ||
		!strings.HasPrefix(recs[2].Status, "skipped") {
		t.Fatalf("records = %+v", recs)
	}
	if recs[0].End.Before(recs[0].Start) || recs[0].Outputs[0].Path != "manifest.json" {
		t.Fatalf("record 0 = %+v", recs[0])
	}
	// Every stage end is one JSON log line naming the stage, its status and its outputs.
	var ends []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "stage end" {
			ends = append(ends, m)
		}
	}
	if len(ends) != 3 || ends[0]["stage"] != "digest" || ends[1]["status"] != "failed" || ends[0]["outputs"] == nil {
		t.Fatalf("stage end logs = %v", ends)
	}
}
