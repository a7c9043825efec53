package links

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/internal/strictjson"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
)

// Size limits, applied before parsing.
const (
	MaxLayoutSize = 16 << 20
	MaxLinkSize   = 64 << 20
)

// Result is what a successful Verify checked.
type Result struct {
	LayoutKeyID string   // the trusted key that signed the layout
	Steps       []string // the steps whose links verified, in layout order
}

// VerifyOption adjusts Verify.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	hashed Files
}

// WithHashed gives Verify SHA-256 digests the caller has just computed from the bundle's
// files (the gate hashes every artifact anyway), so they are not read twice.
func WithHashed(f Files) VerifyOption {
	return func(c *verifyConfig) { c.hashed = f }
}

// Verify checks the in-toto metadata of the bundle at dir: links/root.layout signed by one of
// the trusted keys, not expired, and naming the bundle's manifest.json (a layout of another
// release fails), one link per step signed by a key the layout authorizes, every step's
// artifact rules, keys/ holding exactly the key files the sign step wrote, and the bundle
// inspection's rules over the files now in the bundle. Problems pinned on particular files
// come as a *FileError. It runs no command; it reads nothing outside dir and opens no network connection.
func Verify(dir string, trusted []*keys.PublicKey, opts ...VerifyOption) (*Result, error) {
	cfg := verifyConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	defer b.Close()
	layout, signer, err := loadLayout(b, trusted)
	if err != nil {
		return nil, err
	}
	if err := intoto.VerifyLayoutExpiration(layout); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLink, bundle.LayoutFile, err)
	}
	files, err := recordBundle(b, cfg.hashed)
	if err != nil {
		return nil, err
	}
	steps, err := loadStepLinks(b, layout)
	if err != nil {
		return nil, err
	}
	if err := intoto.VerifyArtifacts(stepItems(layout), steps); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	if err := checkKeyFiles(steps, files); err != nil {
		return nil, err
	}
	if err := inspect(layout, steps, files); err != nil {
		return nil, err
	}
	// Last: a changed manifest fails the rules above as a changed file, which says more.
	if err := checkRelease(layout, files); err != nil {
		return nil, err
	}
	res := &Result{LayoutKeyID: signer}
	for _, s := range layout.Steps {
		res.Steps = append(res.Steps, s.Name)
	}
	return res, nil
}

// loadLayout reads and strictly parses the layout and verifies its signature with whichever
// trusted keys signed it (several --key may be trusted during a rotation; one suffices, and
// every trusted key that claims a signature must verify).
func loadLayout(b *bundle.Bundle, trusted []*keys.PublicKey) (intoto.Layout, string, error) {
	fail := func(err error) (intoto.Layout, string, error) {
		return intoto.Layout{}, "", fmt.Errorf("%w: %s: %w", ErrLink, bundle.LayoutFile, err)
	}
	mb, err := loadMetablock(b, bundle.LayoutFile, MaxLayoutSize)
	if err != nil {
		return fail(err)
	}
	layout, ok := mb.Signed.(intoto.Layout)
	if !ok {
		return fail(fmt.Errorf("not a layout"))
	}
	signedBy := map[string]bool{}
	for _, s := range mb.Signatures {
		signedBy[s.KeyID] = true
	}
	verifiers := map[string]intoto.Key{}
	for _, pub := range trusted {
		k, err := KeyOf(pub)
		if err != nil {
			return fail(err)
		}
		if signedBy[k.KeyID] {
			verifiers[k.KeyID] = k
		}
	}
	if len(verifiers) == 0 {
		return fail(fmt.Errorf("not signed by any trusted key (signed by key ids %s)", strings.Join(sortedKeys(signedBy), ", ")))
	}
	if err := intoto.VerifyLayoutSignatures(mb, verifiers); err != nil {
		return fail(fmt.Errorf("signature: %w", err))
	}
	return layout, sortedKeys(verifiers)[0], nil
}

// loadStepLinks finds each step's links (links/<step>.<keyid8>.link), keeps those signed by a
// key the layout authorizes for the step, and returns one verified link per step.
func loadStepLinks(b *bundle.Bundle, layout intoto.Layout) (map[string]intoto.Metadata, error) {
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	perStep := map[string]map[string]intoto.Metadata{}
	for _, s := range layout.Steps {
		if s.Threshold < 1 {
			return nil, fmt.Errorf("%w: %s: step %q has threshold %d: want at least 1", ErrLink, bundle.LayoutFile, s.Name, s.Threshold)
		}
		perStep[s.Name] = map[string]intoto.Metadata{}
		for _, e := range entries {
			short, ok := linkKeyPrefix(e.Path, s.Name)
			if !ok {
				continue
			}
			mb, err := loadMetablock(b, e.Path, MaxLinkSize)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrLink, e.Path, err)
			}
			if _, isLink := mb.Signed.(intoto.Link); !isLink {
				return nil, fmt.Errorf("%w: %s: not a link (sublayouts are not supported)", ErrLink, e.Path)
			}
			for _, sig := range mb.Signatures {
				if strings.HasPrefix(sig.KeyID, short) {
					perStep[s.Name][sig.KeyID] = mb
					break
				}
			}
		}
	}
	verified, err := intoto.VerifyLinkSignatureThesholds(layout, perStep, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	reduced, err := intoto.ReduceStepsMetadata(layout, verified)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	for name, md := range reduced {
		if link, _ := md.GetPayload().(intoto.Link); link.Name != name {
			return nil, fmt.Errorf("%w: the link signed for step %q names step %q", ErrLink, name, link.Name)
		}
	}
	return reduced, nil
}

// linkKeyPrefix reports whether p is links/<step>.<8 chars>.link and returns the 8 chars.
func linkKeyPrefix(p, step string) (string, bool) {
	dir, file := path.Split(p)
	if dir != bundle.LinksDir+"/" {
		return "", false
	}
	rest, ok := strings.CutPrefix(file, step+".")
	if !ok {
		return "", false
	}
	short, ok := strings.CutSuffix(rest, ".link")
	return short, ok && len(short) == 8
}

// loadMetablock parses an in-toto metablock strictly: size-limited, no duplicate keys, no
// unknown fields, and in-toto's own format validation.
func loadMetablock(b *bundle.Bundle, p string, max int64) (*intoto.Metablock, error) {
	data, err := b.ReadFile(p, max)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Signed     json.RawMessage    `json:"signed"`
		Signatures []intoto.Signature `json:"signatures"`
	}
	if err := strictjson.Decode(data, max, &raw); err != nil {
		return nil, err
	}
	var head struct {
		Type string `json:"_type"`
	}
	if err := json.Unmarshal(raw.Signed, &head); err != nil {
		return nil, fmt.Errorf("signed: %w", err)
	}
	mb := &intoto.Metablock{Signatures: raw.Signatures}
	switch head.Type {
	case "link":
		var l intoto.Link
		err = strictjson.Decode(raw.Signed, max, &l)
		mb.Signed = l
	case "layout":
		var l intoto.Layout
		err = strictjson.Decode(raw.Signed, max, &l)
		mb.Signed = l
	default:
		return nil, fmt.Errorf("signed._type: want link or layout, got %q", head.Type)
	}
	if err != nil {
		return nil, err
	}
	if len(mb.Signatures) == 0 {
		return nil, fmt.Errorf("no signatures")
	}
	if err := intoto.ValidateMetablock(*mb); err != nil {
		return nil, err
	}
	return mb, nil
}

// inspect evaluates the layout's inspections over the bundle as it is, the way the stock
// verifier would after running their commands from the bundle root (which, for ours, change
// nothing): every file is both a material and a product.
func inspect(layout intoto.Layout, steps map[string]intoto.Metadata, files Files) error {
	all := make(map[string]intoto.Metadata, len(steps)+len(layout.Inspect))
	for k, v := range steps {
		all[k] = v
	}
	for _, in := range layout.Inspect {
		link := intoto.Link{Type: "link", Name: in.Name, Materials: hashObjs(files), Products: hashObjs(files)}
		all[in.Name] = &intoto.Metablock{Signed: link}
	}
	if err := intoto.VerifyArtifacts(inspectionItems(layout), all); err != nil {
		return fmt.Errorf("%w: bundle inspection: %w", ErrLink, err)
	}
	return nil
}

// recordBundle hashes every file of the bundle (SHA-256), reusing digests the caller already
// has. A symlink or special file is an error: bundles hold regular files only.
func recordBundle(b *bundle.Bundle, hashed Files) (Files, error) {
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	files := make(Files, len(entries))
	for _, e := range entries {
		if e.Err != nil || e.Type != bundle.TypeRegular {
			return nil, fmt.Errorf("%w: bundle inspection: %s: not a regular file with a safe name", ErrLink, e.Path)
		}
		if d, ok := hashed[e.Path]; ok {
			files[e.Path] = d
			continue
		}
		d, err := hashFile(b, e.Path)
		if err != nil {
			return nil, err
		}
		files[e.Path] = d
	}
	return files, nil
}

func hashFile(b *bundle.Bundle, p string) (string, error) {
	f, _, err := b.Open(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrLink, p, err)
	}
	defer f.Close()
	_, d, err := digest.Reader(f, digest.SHA256Only)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrLink, p, err)
	}
	return d.SHA256, nil
}

// HashFiles returns the SHA-256 of each named file of the bundle at dir, for recording
// materials and products.
func HashFiles(dir string, paths ...string) (Files, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLink, err)
	}
	defer b.Close()
	out := make(Files, len(paths))
	for _, p := range paths {
		d, err := hashFile(b, p)
		if err != nil {
			return nil, err
		}
		out[p] = d
	}
	return out, nil
}
