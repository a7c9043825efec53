package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/build"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// attestFlags are the provenance facts a manifest may not carry. Each fills a gap in the
// manifest; one that contradicts the (signed) manifest is refused.
type attestFlags struct {
	repo, ref, commit     *string
	builderID, invocation *string
	at                    *string
	validity              *time.Duration
	platforms             stringList
	records               fileList
	reproduction          *string
	bench                 *bool
}

// runAttest writes DIR's SLSA provenance (provenance.sigstore.json and its shards), then the
// in-toto links of the digest, sign and attest steps and the layout, preceded by the freeze
// and build links of the stage records given. A stage with a record gets a link with its
// exact command; the attest link carries attest's own argv. stdout lists the files.
func runAttest(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "attest", "DIR")
	kf := addKeyFlags(fs)
	af := attestFlags{
		repo:         fs.String("source-repo", "", "source repository URL (default: the manifest's)"),
		ref:          fs.String("source-ref", "", "git ref built, e.g. refs/tags/v1.0.0 (default: the manifest's)"),
		commit:       fs.String("source-commit", "", "commit built, 40 hex digits (default: the manifest's)"),
		builderID:    fs.String("builder-id", attest.BuilderHost, "builder id URI: "+attest.BuilderHost+" or "+attest.BuilderDagger),
		invocation:   fs.String("invocation-id", "", "this run's id, e.g. a CI run URL (default: reliquary:COMMIT12:VERSION)"),
		at:           fs.String("time", "", "build time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now, which is not reproducible)"),
		validity:     fs.Duration("layout-validity", 0, "how long after the build time the in-toto layout stays valid (default: 10 years, as release: an auditor must be able to check an old release)"),
		bench:        fs.Bool("bench", false, "sign the statement about the bundle's bench.json into bench.sigstore.json ('reliquary bench --out DIR/bench.json' ran)"),
		reproduction: fs.String("reproduction", "", "the comparison 'reliquary reproduce --result FILE' wrote: signed into reproducibility.sigstore.json"),
	}
	fs.Var(&af.platforms, "platform", "os/arch built (repeatable; default: the platforms of the manifest's artifacts)")
	fs.Var(&af.records, "stage-record", "a record 'reliquary freeze/build/digest/sign --record FILE' left: that stage's link carries its exact command and files, chained source -> freeze -> build -> digest -> sign (repeatable; freeze and build go together; digest and sign each optional)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	key, err := kf.load()
	if err != nil {
		return err
	}
	dir := pos[0]
	m, err := readManifest(dir)
	if err != nil {
		return usageError(err)
	}
	at, err := af.buildTime(cli)
	if err != nil {
		return err
	}
	in, err := af.input(m, at)
	if err != nil {
		return err
	}
	// The records are checked before anything is written, so a refused record leaves the
	// bundle as it was.
	preceded, err := af.preceded(dir, m)
	if err != nil {
		return err
	}
	cmp, err := af.comparison()
	if err != nil {
		return err
	}
	prov, err := attest.Write(dir, in, key)
	if err != nil {
		return usageError(err)
	}
	if cmp != nil {
		if err := release.SignReproduction(dir, cmp, m, key); err != nil {
			return usageError(err)
		}
		prov.Files = append(prov.Files, bundle.ReproSigFile)
	}
	if *af.bench {
		if err := release.SignBench(dir, key); err != nil {
			return usageError(err)
		}
		prov.Files = append(prov.Files, bundle.BenchSigFile)
	}
	expires := release.LayoutExpiry(at)
	if *af.validity > 0 {
		expires = at.Add(*af.validity)
	}
	set, err := links.BundleSet(dir, m, expires, append(preceded, links.AttestCommand(os.Args...))...)
	if err != nil {
		return usageError(err)
	}
	written, err := links.Write(dir, set, key)
	if err != nil {
		return usageError(err)
	}
	cli.log.Info("attested", "dir", dir, "subjects", prov.Subjects, "statements", len(prov.Files), "links", len(written.Files)-1, "intoto_keyid", written.KeyID)
	for _, f := range append(append(prov.Files, prov.SBOMs...), written.Files...) {
		fmt.Fprintln(cli.stdout, joinPath(dir, f))
	}
	return nil
}

func readManifest(dir string) (*bundle.Manifest, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	m, err := b.Manifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run 'reliquary digest' first)", joinPath(dir, bundle.ManifestFile), err)
	}
	return m, nil
}

// buildTime is --time, else SOURCE_DATE_EPOCH, else now (said on stderr).
func (af attestFlags) buildTime(cli *cliEnv) (time.Time, error) {
	t, ok, err := flagOrEpoch(*af.at)
	if err != nil || ok {
		return t, err
	}
	cli.log.Warn("no --time or SOURCE_DATE_EPOCH: using the current time, so the provenance is not reproducible")
	return time.Now().UTC().Truncate(time.Second), nil
}

// flagOrEpoch is a --time flag's value (RFC 3339), else $SOURCE_DATE_EPOCH; ok is false
// when neither is set.
func flagOrEpoch(at string) (t time.Time, ok bool, err error) {
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, false, usagef("--time: want RFC 3339 (2026-03-01T12:00:00Z), got %q", at)
		}
		return t.UTC(), true, nil
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, false, usagef("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds", v)
		}
		return time.Unix(n, 0).UTC(), true, nil
	}
	return time.Time{}, false, nil
}

// releaseTimeFlag is flagOrEpoch for a stage whose output must be reproducible: one of
// the two is required.
func releaseTimeFlag(at string) (time.Time, error) {
	t, ok, err := flagOrEpoch(at)
	if err == nil && !ok {
		err = usagef("no release time: pass --time or set SOURCE_DATE_EPOCH (the commit time), so the output is reproducible")
	}
	return t, err
}

// input fills the provenance input from the manifest and the flags.
func (af attestFlags) input(m *bundle.Manifest, at time.Time) (*attest.Input, error) {
	src := m.Source
	for _, f := range []struct {
		flag, name string
		field      *string
	}{{*af.repo, "source-repo", &src.Repository}, {*af.ref, "source-ref", &src.Ref}, {*af.commit, "source-commit", &src.Commit}} {
		if err := fill(f.field, f.flag, f.name); err != nil {
			return nil, err
		}
	}
	// A source without a published repository is named by commit and tree digest only.
	if src.Commit == "" {
		return nil, usagef("the manifest names no source commit: pass --source-commit (and --source-repo, if the source has a published repository)")
	}
	in := &attest.Input{
		Version:      m.Version,
		Source:       attest.Source{Repository: src.Repository, Ref: src.Ref, Commit: src.Commit, TreeDigest: src.TreeDigest},
		Platforms:    af.platformsOf(m),
		Toolchain:    toolchainOf(m.Toolchain),
		Dependencies: m.Dependencies,
		Builder:      attest.Builder{ID: *af.builderID, Version: map[string]string{"reliquary": cliVersion}},
		InvocationID: orDefault(*af.invocation, "reliquary:"+src.Commit[:min(12, len(src.Commit))]+":"+m.Version),
		StartedOn:    at,
		FinishedOn:   at,
		Artifacts:    m.Artifacts,
	}
	for _, im := range m.BaseImages {
		in.BaseImages = append(in.BaseImages, attest.Image{Name: im.Name, Digest: im.Digest})
	}
	return in, nil
}

// fill sets *field from a flag when the manifest left it empty; a flag that contradicts the
// manifest would make the provenance disagree with what was signed, so it is refused.
func fill(field *string, flag, name string) error {
	switch {
	case flag == "" || flag == *field:
	case *field == "":
		*field = flag
	default:
		return usagef("--%s %q contradicts the manifest's %q", name, flag, *field)
	}
	return nil
}

func (af attestFlags) platformsOf(m *bundle.Manifest) []string {
	if len(af.platforms) > 0 {
		return af.platforms
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range m.Artifacts {
		if a.Platform != "" && !seen[a.Platform] {
			seen[a.Platform] = true
			out = append(out, a.Platform)
		}
	}
	sort.Strings(out)
	return out
}

// toolchainOf splits a manifest's toolchain ("go1.26.1") into a name ("go") and version.
func toolchainOf(s string) attest.Toolchain {
	if s == "" {
		return attest.Toolchain{}
	}
	name := s[:len(s)-len(strings.TrimLeftFunc(s, isLetter))]
	return attest.Toolchain{Name: orDefault(name, "toolchain"), Version: s}
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// recordedStages are the stages whose records attest takes: those that write one.
var recordedStages = map[string]bool{links.StepFreeze: true, links.StepBuild: true, links.StepBench: true, links.StepDigest: true, links.StepSign: true}

// preceded reads --stage-record files and, after checking them against the bundle at dir and
// its manifest m, turns freeze and build records into the steps before digest and gives
// digest and sign records to their own links.
func (af attestFlags) preceded(dir string, m *bundle.Manifest) ([]links.BundleOption, error) {
	recs := make([]trail.Record, 0, len(af.records))
	var before, ran []trail.Record
	for _, f := range af.records {
		if err := checkRecordPath("--stage-record", f, dir); err != nil {
			return nil, err
		}
		rec, err := trail.ReadRecord(f)
		if err != nil {
			return nil, usageError(err)
		}
		if !recordedStages[rec.Stage] {
			return nil, usagef("--stage-record %s: a record of stage %q: attest takes the records of freeze, build, bench, digest and sign", f, rec.Stage)
		}
		recs = append(recs, rec)
		if links.IsRanStep(rec.Stage) {
			ran = append(ran, rec)
		} else {
			before = append(before, rec)
		}
	}
	steps, recorded, err := links.Recorded(before)
	if err == nil {
		err = links.CheckRecorded(dir, m, recs)
	}
	if err != nil {
		return nil, usageError(fmt.Errorf("--stage-record %s: %w", strings.Join(af.records, ", "), err))
	}
	return []links.BundleOption{links.Preceded(steps, recorded), links.Ran(ran...)}, nil
}

// fileList is a repeatable flag of file names, taken whole (a name may hold a comma).
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, " ") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

// comparison reads --reproduction; nil without it.
func (af attestFlags) comparison() (*build.Comparison, error) {
	if *af.reproduction == "" {
		return nil, nil
	}
	cmp := &build.Comparison{}
	return cmp, readJSONFile(*af.reproduction, cmp)
}
