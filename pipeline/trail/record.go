package trail

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/internal/strictjson"
)

// RecordSchema names the format of a stage record file: what a stage run on its own
// (`reliquary freeze`, `build`, `digest` or `sign` with `--record`) did, for `reliquary attest
// --stage-record` to turn into that stage's in-toto link when the stages run in different
// processes or containers.
const RecordSchema = "https://reliquary.dev/stage-record/v1"

// MaxRecordSize bounds a stage record file before it is parsed. A build of tens of
// thousands of artifacts fits.
const MaxRecordSize = 8 << 20

// ErrRecord is the root of every error about a stage record file's content.
var ErrRecord = errors.New("stage record")

// recordFile is the stage record as stored: the schema, then the record's own fields.
type recordFile struct {
	Schema string `json:"schema"`
	Record
}

// Finished is the record of a stage that ran from start to end and returned step.
func Finished(stage string, start, end time.Time, step Step) Record {
	return Record{Stage: stage, Start: start.UTC(), End: end.UTC(), Command: step.Command, Inputs: step.Inputs, Outputs: step.Outputs, Status: "ok", Notes: step.Notes}
}

// WriteRecord checks rec and writes it atomically to path as a stage record file. Only a
// stage that succeeded is written: a record stands for files a later stage may trust.
func WriteRecord(path string, rec Record) error {
	if err := checkRecord(rec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	data, err := json.MarshalIndent(recordFile{Schema: RecordSchema, Record: rec}, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadRecord reads and checks the stage record file at path, refusing one over
// MaxRecordSize unread.
func ReadRecord(path string) (Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	defer f.Close()
	data, err := strictjson.ReadLimited(f, MaxRecordSize)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %w", ErrRecord, path, err)
	}
	rec, err := ParseRecord(data)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// ParseRecord parses a stage record file strictly (unknown fields, repeated keys and
// trailing data refused) and checks its content.
func ParseRecord(data []byte) (Record, error) {
	var rf recordFile
	if err := strictjson.Decode(data, MaxRecordSize, &rf); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if rf.Schema != RecordSchema {
		return Record{}, fmt.Errorf("%w: schema %q: want %q", ErrRecord, rf.Schema, RecordSchema)
	}
	if err := checkRecord(rf.Record); err != nil {
		return Record{}, err
	}
	return rf.Record, nil
}

// stageName is what a stage may be called; it becomes an in-toto step name.
var stageName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkRecord(rec Record) error {
	if !stageName.MatchString(rec.Stage) {
		return fmt.Errorf("%w: stage %q: want lowercase letters, digits, - and _", ErrRecord, rec.Stage)
	}
	if rec.Status != "ok" || rec.Error != "" {
		return fmt.Errorf("%w: stage %s: status %q: only a stage that succeeded leaves a record", ErrRecord, rec.Stage, rec.Status)
	}
	if len(rec.Command) == 0 {
		return fmt.Errorf("%w: stage %s: no command", ErrRecord, rec.Stage)
	}
	if len(rec.Outputs) == 0 {
		return fmt.Errorf("%w: stage %s: no outputs", ErrRecord, rec.Stage)
	}
	for _, part := range []struct {
		name  string
		files []File
	}{{"inputs", rec.Inputs}, {"outputs", rec.Outputs}} {
		if err := checkFiles(part.files); err != nil {
			return fmt.Errorf("%w: stage %s: %s: %w", ErrRecord, rec.Stage, part.name, err)
		}
	}
	return nil
}

func checkFiles(files []File) error {
	seen := map[string]bool{}
	for _, f := range files {
		if err := safepath.Check(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("%s: listed twice", f.Path)
		}
		seen[f.Path] = true
		if !hexSHA256.MatchString(f.SHA256) {
			return fmt.Errorf("%s: want a SHA-256 of 64 lowercase hex digits, got %q", f.Path, f.SHA256)
		}
	}
	return nil
}
