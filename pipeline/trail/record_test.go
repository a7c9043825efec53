package trail_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/trail"
)

func goodRecord() trail.Record {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return trail.Finished("build", start, start.Add(time.Minute), trail.Step{
		Command: []string{"/usr/local/bin/reliquary", "build", ".", "--version", "v1.0.0"},
		Inputs:  []trail.File{{Path: trail.SourceTree, SHA256: strings.Repeat("a", 64)}, {Path: "deps.lock.json", SHA256: strings.Repeat("b", 64)}},
		Outputs: []trail.File{{Path: "artifacts/app_v1.0.0_linux_amd64.tar.gz", SHA256: strings.Repeat("c", 64)}},
	})
}

func TestRecordRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.record.json")
	want := goodRecord()
	if err := trail.WriteRecord(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := trail.ReadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, wrote %+v", got, want)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"schema": "`+trail.RecordSchema+`"`) {
		t.Errorf("the file does not name its schema:\n%s", data)
	}
}

func TestWriteRecordRefusesWhatReadRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, edit := range map[string]func(*trail.Record){
		"failed stage":   func(r *trail.Record) { r.Status, r.Error = "failed", "boom" },
		"no command":     func(r *trail.Record) { r.Command = nil },
		"no outputs":     func(r *trail.Record) { r.Outputs = nil },
		"unhashed file":  func(r *trail.Record) { r.Outputs[0].SHA256 = "" },
		"absolute path":  func(r *trail.Record) { r.Inputs[1].Path = "/etc/passwd" },
		"climbing path":  func(r *trail.Record) { r.Outputs[0].Path = "artifacts/../../x" },
		"bad stage name": func(r *trail.Record) { r.Stage = "Build!" },
		"listed twice":   func(r *trail.Record) { r.Outputs = append(r.Outputs, r.Outputs[0]) },
	} {
		t.Run(name, func(t *testing.T) {
			rec := goodRecord()
			edit(&rec)
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			err := trail.WriteRecord(path, rec)
			if !errors.Is(err, trail.ErrRecord) || !strings.Contains(err.Error(), path) {
				t.Fatalf("WriteRecord: %v; want an ErrRecord naming %s", err, path)
			}
			if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
				t.Fatalf("a refused record was written")
			}
		})
	}
}

func TestReadRecordRefuses(t *testing.T) {
	good := `{"schema":"` + trail.RecordSchema + `","stage":"freeze","start":"2026-03-01T12:00:00Z","end":"2026-03-01T12:00:01Z",` +
		`"command":["reliquary","freeze","."],"inputs":[{"path":"go.mod","sha256":"` + strings.Repeat("1", 64) + `"}],` +
		`"outputs":[{"path":"deps.lock.json","sha256":"` + strings.Repeat("2", 64) + `"}],"status":"ok"}`
	if _, err := trail.ParseRecord([]byte(good)); err != nil {
		t.Fatalf("good record refused: %v", err)
	}
	cases := []struct{ name, data, want string }{
		{"other schema", strings.Replace(good, trail.RecordSchema, "https://example.com/v9", 1), "schema"},
		{"unknown field", strings.Replace(good, `"status"`, `"extra":1,"status"`, 1), "unknown field"},
		{"repeated key", strings.Replace(good, `"status":"ok"`, `"status":"ok","status":"ok"`, 1), "duplicate key"},
		{"trailing data", good + `{}`, "after the top-level value"},
		{"upper-case digest", strings.Replace(good, strings.Repeat("2", 64), strings.Repeat("A", 64), 1), "64 lowercase hex"},
		{"short digest", strings.Replace(good, strings.Repeat("2", 64), "22", 1), "64 lowercase hex"},
		{"not ok", strings.Replace(good, `"status":"ok"`, `"status":"skipped: no"`, 1), "succeeded"},
		{"too big", good + strings.Repeat(" ", trail.MaxRecordSize), "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.json")
			if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := trail.ReadRecord(path)
			if !errors.Is(err, trail.ErrRecord) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadRecord: %v; want an ErrRecord naming %s and %q", err, path, c.want)
			}
		})
	}
	if _, err := trail.ReadRecord(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, trail.ErrRecord) || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParseRecord(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.json")
	if err := trail.WriteRecord(path, goodRecord()); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"schema":"` + trail.RecordSchema + `"}`))
	f.Add([]byte(`{"outputs":[{"path":"../x","sha256":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := trail.ParseRecord(data)
		if err != nil {
			if !errors.Is(err, trail.ErrRecord) {
				t.Fatalf("error outside ErrRecord: %v", err)
			}
			return
		}
		// Whatever parses writes back, and reads back to a record that writes the same bytes.
		dir := t.TempDir()
		first, second := filepath.Join(dir, "1.json"), filepath.Join(dir, "2.json")
		if err := trail.WriteRecord(first, rec); err != nil {
			t.Fatalf("a parsed record does not write: %v", err)
		}
		again, err := trail.ReadRecord(first)
		if err != nil {
			t.Fatalf("a written record does not read: %v", err)
		}
		if err := trail.WriteRecord(second, again); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(first)
		b, _ := os.ReadFile(second)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the record:\n%s\n%s", a, b)
		}
	})
}
