package links

import (
	"fmt"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// Steps recorded while they ran, before digest: by the release runner's trail, or by the
// stand-alone stages' record files (`reliquary freeze --record`, `reliquary build --record`).
const (
	StepFreeze = "freeze"
	StepBuild  = "build"
	StepBench  = "bench"
)

// recordedSteps are the layout entries of those steps, in the order they run: source ->
// freeze -> build (-> bench) -> digest.
var recordedSteps = []Step{
	{Name: StepFreeze, Inputs: []Input{External("go.mod"), External("go.sum")}, Outputs: []string{bundle.DepsLockFile}},
	{Name: StepBuild, Inputs: []Input{FromStep(bundle.DepsLockFile, StepFreeze), External(trail.SourceTree)}, Outputs: []string{bundle.ArtifactsDir + "/*", bundle.SBOMDir + "/*.cdx.json"}},
	{Name: StepBench, Inputs: []Input{External("*")}, Outputs: []string{bundle.BenchFile, bundle.BenchSigFile}},
}

// IsRecordedStep reports whether a stage is one Recorded turns into a step.
func IsRecordedStep(stage string) bool {
	for _, s := range recordedSteps {
		if s.Name == stage {
			return true
		}
	}
	return false
}

// Recorded turns the records of the stages that ran before digest into the layout's steps
// and their links, each with the command the record holds, for Preceded. A set of records
// holds freeze and build (or nothing at all), each once, and every record is of a stage that
// succeeded: a build with no freeze record would leave deps.lock.json unaccounted for, and
// the in-toto check would fail later with a less clear message.
func Recorded(recs []trail.Record) ([]Step, []Link, error) {
	byStage, err := recordsByStage(recs)
	if err != nil || len(byStage) == 0 {
		return nil, nil, err
	}
	var steps []Step
	var links []Link
	for _, st := range recordedSteps {
		rec, ok := byStage[st.Name]
		if !ok {
			continue
		}
		st.Command = append([]string(nil), rec.Command...)
		l, err := Record(st.Name, trailFiles(rec.Inputs), trailFiles(rec.Outputs), WithCommand(rec.Command...), WithByproducts(rec.Notes))
		if err != nil {
			return nil, nil, fmt.Errorf("record the %s link: %w", st.Name, err)
		}
		steps, links = append(steps, st), append(links, l)
	}
	return steps, links, nil
}

func recordsByStage(recs []trail.Record) (map[string]trail.Record, error) {
	byStage, err := indexRecords(recs, IsRecordedStep, "only "+recordedNames()+" are recorded before digest")
	if err != nil || len(byStage) == 0 {
		return byStage, err
	}
	for _, need := range []string{StepFreeze, StepBuild} {
		if _, ok := byStage[need]; !ok {
			return nil, fmt.Errorf("%w: no %s record: freeze and build records go together (build consumes freeze's %s, digest every artifact build made)", ErrLink, need, bundle.DepsLockFile)
		}
	}
	return byStage, nil
}

// indexRecords indexes records by stage: each of a stage the caller takes (allowed; refused
// says which), at most once, and of a stage that succeeded.
func indexRecords(recs []trail.Record, allowed func(string) bool, refused string) (map[string]trail.Record, error) {
	byStage := map[string]trail.Record{}
	for _, rec := range recs {
		switch {
		case !allowed(rec.Stage):
			return nil, fmt.Errorf("%w: a record of stage %q: %s", ErrLink, rec.Stage, refused)
		case rec.Status != "ok":
			return nil, fmt.Errorf("%w: the %s record: status %q: only a stage that succeeded can be linked", ErrLink, rec.Stage, rec.Status)
		}
		if _, dup := byStage[rec.Stage]; dup {
			return nil, fmt.Errorf("%w: two %s records: a release has one of each stage", ErrLink, rec.Stage)
		}
		byStage[rec.Stage] = rec
	}
	return byStage, nil
}

func recordedNames() string {
	names := make([]string, 0, len(recordedSteps))
	for _, s := range recordedSteps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// trailFiles keeps the files a record has a digest for: a link carries only what was hashed.
func trailFiles(files []trail.File) Files {
	out := Files{}
	for _, f := range files {
		if f.SHA256 != "" {
			out[f.Path] = f.SHA256
		}
	}
	return out
}

// CheckRecorded compares records with the bundle at dir and its manifest m before any link
// is written, so a record from another run, or a file changed since its stage wrote it, is
// refused naming the file and both digests instead of failing the in-toto check later:
//   - every output of every record is in the bundle with the recorded SHA-256;
//   - with a build record, every artifact of the manifest is the output of a record (digest
//     consumes nothing else);
//   - the build's source tree is the manifest's, when the manifest names one;
//   - a digest record read exactly the manifest's artifacts, a sign record the bundle's
//     manifest.json, and each wrote only its own files (see Ran).
func CheckRecorded(dir string, m *bundle.Manifest, recs []trail.Record) error {
	var ran []trail.Record
	for _, rec := range recs {
		if IsRanStep(rec.Stage) {
			ran = append(ran, rec)
		}
	}
	if _, err := ranByStage(ran); err != nil {
		return err
	}
	produced := map[string]string{}
	built := false
	for _, rec := range recs {
		if IsRanStep(rec.Stage) {
			if err := checkRan(dir, m, rec); err != nil {
				return err
			}
			continue
		}
		if err := checkOutputs(dir, rec); err != nil {
			return err
		}
		for _, out := range rec.Outputs {
			produced[out.Path] = rec.Stage
		}
		if err := checkTree(m, rec); err != nil {
			return err
		}
		built = built || rec.Stage == StepBuild
	}
	if !built {
		return nil
	}
	for _, a := range m.Artifacts {
		if _, ok := produced[a.Path]; !ok {
			return fmt.Errorf("%w: %s: in the manifest, but no stage record lists it as an output (made by another run?)", ErrLink, a.Path)
		}
	}
	return nil
}

func checkTree(m *bundle.Manifest, rec trail.Record) error {
	if m.Source.TreeDigest == "" {
		return nil
	}
	want := strings.TrimPrefix(m.Source.TreeDigest, "sha256:")
	for _, in := range rec.Inputs {
		if in.Path == trail.SourceTree && in.SHA256 != want {
			return fmt.Errorf("%w: %s: the %s record says sha256:%s, the manifest's source tree is sha256:%s", ErrLink, trail.SourceTree, rec.Stage, in.SHA256, want)
		}
	}
	return nil
}
