package links

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// Ran makes the digest and sign links from the records those stages left as they ran
// (`reliquary digest --record`, `reliquary sign --record`): each link carries the record's
// exact command, inputs and outputs, instead of a generic command and files read back from
// the finished bundle. A record must agree with the bundle (BundleSet refuses one that does
// not, naming the file and both digests): see CheckRecorded. Records of other stages are
// refused; a stage without a record is recorded from the bundle as before.
func Ran(recs ...trail.Record) BundleOption {
	return func(c *bundleConfig) { c.ran = append(c.ran, recs...) }
}

// AttestCommand is the command the attest link carries: the argv of the process that is
// attesting, which the caller passes in (the library never reads os.Args). Without it, the
// link says "reliquary attest".
func AttestCommand(argv ...string) BundleOption {
	return func(c *bundleConfig) { c.attestCommand = append([]string(nil), argv...) }
}

// IsRanStep reports whether a stage's record is one Ran takes.
func IsRanStep(stage string) bool { return stage == StepDigest || stage == StepSign }

// ranByStage indexes digest and sign records, each at most once.
func ranByStage(recs []trail.Record) (map[string]trail.Record, error) {
	return indexRecords(recs, IsRanStep, fmt.Sprintf("only %s and %s records make their own links after build", StepDigest, StepSign))
}

// checkRan checks a digest or sign record against the bundle at dir and its manifest m:
// its outputs are the stage's files, present with the recorded SHA-256; its inputs are
// what the stage consumes (digest: exactly the manifest's artifacts; sign: the bundle's
// manifest.json), with the same digests.
func checkRan(dir string, m *bundle.Manifest, rec trail.Record) error {
	if err := checkRanOutputs(rec); err != nil {
		return err
	}
	if err := checkOutputs(dir, rec); err != nil {
		return err
	}
	var want Files
	var err error
	switch rec.Stage {
	case StepDigest:
		want, err = FromArtifacts(m.Artifacts), nil
	case StepSign:
		want, err = HashFiles(dir, bundle.ManifestFile)
	}
	if err != nil {
		return fmt.Errorf("%w: an input of the %s record: %w", ErrLink, rec.Stage, err)
	}
	got := trailFiles(rec.Inputs)
	for _, p := range sortedKeys(want) {
		if got[p] != want[p] {
			return fmt.Errorf("%w: %s: the %s record read sha256:%s, the bundle's is sha256:%s (changed after %s, or a record of another run)",
				ErrLink, p, rec.Stage, orNone(got[p]), want[p], rec.Stage)
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			return fmt.Errorf("%w: %s: an input of the %s record, but not in the bundle's %s (a record of another run?)", ErrLink, p, rec.Stage, bundle.ManifestFile)
		}
	}
	return nil
}

// checkRanOutputs refuses a record whose outputs are not the stage's own files: digest
// writes manifest.json and SHA256SUMS, sign the manifest's signature and public keys.
func checkRanOutputs(rec trail.Record) error {
	var want []string
	names := map[string]bool{}
	for _, out := range rec.Outputs {
		names[out.Path] = true
	}
	switch rec.Stage {
	case StepDigest:
		want = []string{bundle.ManifestFile, bundle.ChecksumsFile}
	case StepSign:
		want = []string{bundle.ManifestSigFile}
		for p := range names {
			if path.Dir(p) == bundle.KeysDir {
				want = append(want, p)
			}
		}
	}
	sort.Strings(want)
	var got []string
	for p := range names {
		got = append(got, p)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		return fmt.Errorf("%w: the %s record's outputs are %s: %s writes %s", ErrLink, rec.Stage, strings.Join(got, ", "), rec.Stage, strings.Join(want, ", "))
	}
	return nil
}

// checkOutputs compares every output of rec with the file in the bundle at dir.
func checkOutputs(dir string, rec trail.Record) error {
	paths := make([]string, 0, len(rec.Outputs))
	for _, out := range rec.Outputs {
		paths = append(paths, out.Path)
	}
	got, err := HashFiles(dir, paths...)
	if err != nil {
		return fmt.Errorf("%w: an output of the %s record: %w", ErrLink, rec.Stage, err)
	}
	for _, out := range rec.Outputs {
		if got[out.Path] != out.SHA256 {
			return fmt.Errorf("%w: %s: the %s record says sha256:%s, the bundle's file is sha256:%s (changed after %s, or a record of another run)",
				ErrLink, out.Path, rec.Stage, out.SHA256, got[out.Path], rec.Stage)
		}
	}
	return nil
}

func orNone(hex string) string {
	if hex == "" {
		return "(none)"
	}
	return hex
}
