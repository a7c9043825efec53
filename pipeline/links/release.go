package links

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// Step names of the stages that leave files in a bundle.
const (
	StepDigest = "digest"
	StepSign   = "sign"
	StepAttest = "attest"
)

// recordedBy marks links recorded from a finished bundle rather than while the stage ran.
const recordedBy = "reliquary attest (recorded from the bundle)"

// Later lists the bundle files written after the links (the notes, the gate's signed
// summary, other signed records): a layout must allow them without a link.
var Later = []string{
	bundle.NotesFile, bundle.ChangelogFile, bundle.AuditSummaryFile,
	bundle.VSAFile, bundle.BenchSigFile, bundle.ReproSigFile, bundle.EscrowFile, bundle.EscrowSigFile,
}

// BundleSet records, from a bundle whose manifest (m) has been digested, signed (optionally)
// and attested, the steps that left those files, and the layout they satisfy:
//
//   - digest: the manifest's artifacts in (with the manifest's digests: what the stage
//     hashed), manifest.json and SHA256SUMS out;
//   - sign (when manifest.json.sigstore.json exists): manifest.json in, its signature and
//     the public key files of keys/ out, so that the layout requires exactly those key
//     files, by name and content;
//   - attest: manifest.json in, the provenance bundles out.
//
// The artifacts are external inputs, accepted as the manifest lists them, unless the release
// run recorded the stages that made them: see Preceded. Digest and sign links carry a generic
// command and a "recorded-by" byproduct unless those stages left records (see Ran); the
// attest link carries the caller's argv when given (see AttestCommand). The layout's readme
// names the manifest's sha256 (see ManifestOf): Verify refuses a layout of another release.
func BundleSet(dir string, m *bundle.Manifest, expires time.Time, opts ...BundleOption) (Set, error) {
	var cfg bundleConfig
	for _, o := range opts {
		o(&cfg)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		return Set{}, fmt.Errorf("%w: %w", ErrLink, err)
	}
	defer b.Close()
	files := bundleFiles{signed: b.Exists(bundle.ManifestSigFile)}
	if files.prov, err = provenanceFiles(b); err != nil {
		return Set{}, err
	}
	if len(files.prov) == 0 {
		return Set{}, fmt.Errorf("%w: %s: no %s: attest the bundle first", ErrLink, dir, bundle.ProvenanceFile)
	}
	ran, err := ranByStage(cfg.ran)
	if err != nil {
		return Set{}, err
	}
	if _, ok := ran[StepSign]; ok && !files.signed {
		return Set{}, fmt.Errorf("%w: %s: a sign record, but no %s in the bundle", ErrLink, dir, bundle.ManifestSigFile)
	}
	if files.signed {
		if files.keys, err = keyFiles(b, ran); err != nil {
			return Set{}, err
		}
	}
	for _, st := range []string{StepDigest, StepSign} {
		if rec, ok := ran[st]; ok {
			if err := checkRan(dir, m, rec); err != nil {
				return Set{}, err
			}
		}
	}
	manifest, err := HashFiles(dir, bundle.ManifestFile)
	if err != nil {
		return Set{}, err
	}
	steps, links, err := bundleSteps(dir, m, manifest, stepPlan(files, &cfg, ran))
	if err != nil {
		return Set{}, err
	}
	steps = append(append([]Step(nil), cfg.before...), steps...)
	links = append(append([]Link(nil), cfg.beforeLinks...), links...)
	require := []string{bundle.ManifestFile, bundle.ChecksumsFile}
	if files.signed {
		require = append(require, bundle.ManifestSigFile)
	}
	require = append(require, files.keys...)
	// The bundle's own records are required by name. Artifacts are not: in-toto evaluates
	// each REQUIRE rule against the whole file set (quadratic in the number of artifacts, a
	// second for 1,000), and a deleted artifact is already caught by the digest gate,
	// sha256sum -c and cosign. A changed or added artifact is caught here.
	require = append(require, files.prov...)
	return Set{Links: links, Layout: Layout{
		Steps:    steps,
		Require:  require,
		Unlinked: Later,
		Expires:  expires,
		Readme: fmt.Sprintf("in-toto layout of %s %s (%s%s), written by reliquary. Verify from the bundle root: in-toto verify -l %s -k KEY.pub -d %s",
			m.Project, m.Version, manifestTag, manifest[bundle.ManifestFile], bundle.LayoutFile, bundle.LinksDir),
	}}, nil
}

// bundleFiles are the bundle's records the layout's steps account for.
type bundleFiles struct {
	signed bool     // manifest.json.sigstore.json exists: there is a sign step
	prov   []string // provenance.sigstore.json and its shards
	keys   []string // the public key files sign shipped under keys/
}

// keyFiles lists the public key files the sign stage wrote: its record's, when it left one,
// else every file now under keys/ (read back, as the other posthoc products are).
func keyFiles(b *bundle.Bundle, ran map[string]trail.Record) ([]string, error) {
	var out []string
	if rec, ok := ran[StepSign]; ok {
		for _, f := range rec.Outputs {
			if isKeyFile(f.Path) {
				out = append(out, f.Path)
			}
		}
		return out, nil
	}
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	for _, e := range entries {
		if isKeyFile(e.Path) {
			out = append(out, e.Path)
		}
	}
	return out, nil
}

func isKeyFile(p string) bool { return strings.HasPrefix(p, bundle.KeysDir+"/") }

// BundleOption adjusts BundleSet.
type BundleOption func(*bundleConfig)

type bundleConfig struct {
	before        []Step
	beforeLinks   []Link
	ran           []trail.Record
	attestCommand []string
}

// Preceded puts steps the release run recorded itself (freeze, build...) before digest, with
// their links. digest must then consume exactly their outputs (FromStep), no longer any
// file: an artifact that changed after its step, or that no step produced, fails.
func Preceded(steps []Step, links []Link) BundleOption {
	return func(c *bundleConfig) {
		c.before = append(c.before, steps...)
		c.beforeLinks = append(c.beforeLinks, links...)
	}
}

// planned is a step to record: its layout entry and its link's files, from the stage's own
// record (rec) or else read back from the bundle (the files it produced).
type planned struct {
	step     Step
	products []string
	posthoc  bool          // recorded from the finished bundle, not while the stage ran
	rec      *trail.Record // the stage's own record, when it left one
}

// stepPlan lays out digest, sign (when signed) and attest, each with its recorded command
// when the stage left a record (ran) or the caller named attest's own. Sign always declares
// keys/ as its output, so that the inspection allows no key file that sign did not write.
func stepPlan(files bundleFiles, cfg *bundleConfig, ran map[string]trail.Record) []planned {
	fromDigest := []Input{FromStep(bundle.ManifestFile, StepDigest)}
	digestInputs := []Input{External("*")}
	if len(cfg.before) > 0 {
		digestInputs = nil
		for _, s := range cfg.before {
			for _, out := range s.Outputs {
				digestInputs = append(digestInputs, FromStep(out, s.Name))
			}
		}
	}
	plan := []planned{{step: Step{Name: StepDigest, Command: []string{"reliquary", "digest"},
		Inputs: digestInputs, Outputs: []string{bundle.ManifestFile, bundle.ChecksumsFile}},
		products: []string{bundle.ManifestFile, bundle.ChecksumsFile}, posthoc: true}}
	if files.signed {
		plan = append(plan, planned{step: Step{Name: StepSign, Command: []string{"reliquary", "sign"},
			Inputs: fromDigest, Outputs: []string{bundle.ManifestSigFile, KeysPattern}},
			products: append([]string{bundle.ManifestSigFile}, files.keys...), posthoc: true})
	}
	attestCmd := []string{"reliquary", "attest"}
	if len(cfg.attestCommand) > 0 {
		attestCmd = cfg.attestCommand
	}
	plan = append(plan, planned{step: Step{Name: StepAttest, Command: attestCmd,
		Inputs: fromDigest, Outputs: []string{bundle.ProvenanceFile, "provenance-*.sigstore.json", bundle.SBOMDir + "/*.cdx.json.sigstore.json"}}, products: files.prov})
	for i := range plan {
		rec, ok := ran[plan[i].step.Name]
		if !ok {
			continue
		}
		p := &plan[i]
		p.rec, p.posthoc = &rec, false
		p.step.Command = append([]string(nil), rec.Command...)
	}
	return plan
}

func bundleSteps(dir string, m *bundle.Manifest, manifest Files, plan []planned) ([]Step, []Link, error) {
	var steps []Step
	var links []Link
	for _, p := range plan {
		materials, products, err := p.files(dir, m, manifest)
		if err != nil {
			return nil, nil, err
		}
		opts := []RecordOption{WithCommand(p.step.Command...)}
		switch {
		case p.posthoc:
			opts = append(opts, WithByproducts(map[string]string{"recorded-by": recordedBy}))
		case p.rec != nil && len(p.rec.Notes) > 0:
			opts = append(opts, WithByproducts(p.rec.Notes))
		}
		l, err := Record(p.step.Name, materials, products, opts...)
		if err != nil {
			return nil, nil, err
		}
		steps, links = append(steps, p.step), append(links, l)
	}
	return steps, links, nil
}

// files are the step's link's materials and products: the record's, else read back.
func (p planned) files(dir string, m *bundle.Manifest, manifest Files) (Files, Files, error) {
	if p.rec != nil {
		return trailFiles(p.rec.Inputs), trailFiles(p.rec.Outputs), nil
	}
	materials := manifest
	if p.step.Name == StepDigest {
		materials = FromArtifacts(m.Artifacts) // what the digest stage hashed
	}
	products, err := HashFiles(dir, p.products...)
	return materials, products, err
}

// provenanceFiles lists provenance.sigstore.json, its shards and the SBOM attestations
// present in the bundle: what the attest stage signs.
func provenanceFiles(b *bundle.Bundle) ([]string, error) {
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	var out []string
	for _, e := range entries {
		if path.Dir(e.Path) == "." && (e.Path == bundle.ProvenanceFile || bundle.IsProvenanceShard(e.Path)) || bundle.IsSBOMAttestation(e.Path) {
			out = append(out, e.Path)
		}
	}
	return out, nil
}
