package links

import (
	"fmt"
	"path"
	"time"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// Step names of the stages that leave files in a bundle.
const (
	StepDigest = "digest"
	StepSign   = "sign"
	StepAttest = "attest"
)

// recordedBy marks links recorded from a finished bundle rather than while the stage ran.
const recordedBy = "reliquary attest (recorded from the bundle)"

// Later lists the bundle files written after the links (the notes, the gate's report and
// summary attestation, other signed records): a layout must allow them without a link.
var Later = []string{
	bundle.NotesFile, bundle.ChangelogFile, bundle.AuditSummaryFile, bundle.VerificationFile,
	bundle.VSAFile, bundle.BenchSigFile, bundle.ReproSigFile, bundle.EscrowFile, bundle.EscrowSigFile,
}

// BundleSet records, from a bundle whose manifest (m) has been digested, signed (optionally)
// and attested, the steps that left those files, and the layout they satisfy:
//
//   - digest: the manifest's artifacts in (with the manifest's digests: what the stage
//     hashed), manifest.json and SHA256SUMS out;
//   - sign (when manifest.json.sigstore.json exists): manifest.json in, its signature out;
//   - attest: manifest.json in, the provenance bundles out.
//
// The artifacts are external inputs, accepted as the manifest lists them, unless the release
// run recorded the stages that made them: see Preceded.
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
	signed := b.Exists(bundle.ManifestSigFile)
	provFiles, err := provenanceFiles(b)
	if err != nil {
		return Set{}, err
	}
	if len(provFiles) == 0 {
		return Set{}, fmt.Errorf("%w: %s: no %s: attest the bundle first", ErrLink, dir, bundle.ProvenanceFile)
	}
	steps, links, err := bundleSteps(dir, m, signed, provFiles, cfg.before)
	if err != nil {
		return Set{}, err
	}
	steps = append(append([]Step(nil), cfg.before...), steps...)
	links = append(append([]Link(nil), cfg.beforeLinks...), links...)
	require := []string{bundle.ManifestFile, bundle.ChecksumsFile}
	if signed {
		require = append(require, bundle.ManifestSigFile)
	}
	// The bundle's own records are required by name. Artifacts are not: in-toto evaluates
	// each REQUIRE rule against the whole file set (quadratic in the number of artifacts, a
	// second for 1,000), and a deleted artifact is already caught by the digest gate,
	// sha256sum -c and cosign. A changed or added artifact is caught here.
	require = append(require, provFiles...)
	return Set{Links: links, Layout: Layout{
		Steps:    steps,
		Require:  require,
		Unlinked: Later,
		Expires:  expires,
		Readme:   fmt.Sprintf("in-toto layout of %s %s, written by reliquary. Verify from the bundle root: in-toto verify -l %s -k KEY.pub -d %s", m.Project, m.Version, bundle.LayoutFile, bundle.LinksDir),
	}}, nil
}

// BundleOption adjusts BundleSet.
type BundleOption func(*bundleConfig)

type bundleConfig struct {
	before      []Step
	beforeLinks []Link
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

// planned is a step to record from the bundle: its layout entry and the files it produced.
type planned struct {
	step     Step
	products []string
	posthoc  bool // recorded from the finished bundle, not while the stage ran
}

func bundleSteps(dir string, m *bundle.Manifest, signed bool, provFiles []string, before []Step) ([]Step, []Link, error) {
	fromDigest := []Input{FromStep(bundle.ManifestFile, StepDigest)}
	digestInputs := []Input{External("*")}
	if len(before) > 0 {
		digestInputs = nil
		for _, s := range before {
			for _, out := range s.Outputs {
				digestInputs = append(digestInputs, FromStep(out, s.Name))
			}
		}
	}
	plan := []planned{{Step{Name: StepDigest, Command: []string{"reliquary", "digest"},
		Inputs: digestInputs, Outputs: []string{bundle.ManifestFile, bundle.ChecksumsFile}},
		[]string{bundle.ManifestFile, bundle.ChecksumsFile}, true}}
	if signed {
		plan = append(plan, planned{Step{Name: StepSign, Command: []string{"reliquary", "sign"},
			Inputs: fromDigest, Outputs: []string{bundle.ManifestSigFile}}, []string{bundle.ManifestSigFile}, true})
	}
	plan = append(plan, planned{Step{Name: StepAttest, Command: []string{"reliquary", "attest"},
		Inputs: fromDigest, Outputs: []string{bundle.ProvenanceFile, "provenance-*.sigstore.json"}}, provFiles, false})

	manifest, err := HashFiles(dir, bundle.ManifestFile)
	if err != nil {
		return nil, nil, err
	}
	var steps []Step
	var links []Link
	for _, p := range plan {
		materials := manifest
		if p.step.Name == StepDigest {
			materials = FromArtifacts(m.Artifacts) // what the digest stage hashed
		}
		products, err := HashFiles(dir, p.products...)
		if err != nil {
			return nil, nil, err
		}
		opts := []RecordOption{WithCommand(p.step.Command...)}
		if p.posthoc {
			opts = append(opts, WithByproducts(map[string]string{"recorded-by": recordedBy}))
		}
		l, err := Record(p.step.Name, materials, products, opts...)
		if err != nil {
			return nil, nil, err
		}
		steps, links = append(steps, p.step), append(links, l)
	}
	return steps, links, nil
}

// provenanceFiles lists provenance.sigstore.json and its shards present in the bundle.
func provenanceFiles(b *bundle.Bundle) ([]string, error) {
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	var out []string
	for _, e := range entries {
		if path.Dir(e.Path) == "." && (e.Path == bundle.ProvenanceFile || bundle.IsProvenanceShard(e.Path)) {
			out = append(out, e.Path)
		}
	}
	return out, nil
}
