package links

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
)

// Set is what Write signs: the links the pipeline recorded, one per step of the layout.
type Set struct {
	Links  []Link
	Layout Layout
}

// Written says what Write put in the bundle.
type Written struct {
	Files []string // bundle paths, the layout last
	KeyID string   // the in-toto key id of the signing key
}

// Write signs the set's links and layout with key and writes them under dir/links. Before
// writing anything it checks that the signed links satisfy the layout's step rules, so a
// release whose files changed between two steps fails here rather than at its consumers.
func Write(dir string, set Set, key *keys.PrivateKey) (*Written, error) {
	if err := set.validate(); err != nil {
		return nil, err
	}
	pub, err := KeyOf(key.PublicKey())
	if err != nil {
		return nil, err
	}
	signed := make(map[string]intoto.Metadata, len(set.Links))
	files := map[string]*intoto.Metablock{}
	for _, l := range set.Links {
		mb := &intoto.Metablock{Signed: l.intoto(), Signatures: []intoto.Signature{}}
		if err := sign(mb, key, pub); err != nil {
			return nil, fmt.Errorf("%w: link %s: %w", ErrLink, l.Step, err)
		}
		signed[l.Step] = mb
		files[LinkFile(l.Step, pub)] = mb
	}
	layout := &intoto.Metablock{Signed: set.Layout.compile(pub), Signatures: []intoto.Signature{}}
	if err := intoto.ValidateMetablock(*layout); err != nil {
		return nil, fmt.Errorf("%w: layout: %w", ErrLink, err)
	}
	if err := sign(layout, key, pub); err != nil {
		return nil, fmt.Errorf("%w: layout: %w", ErrLink, err)
	}
	if err := intoto.VerifyArtifacts(stepItems(layout.Signed.(intoto.Layout)), signed); err != nil {
		return nil, fmt.Errorf("%w: the recorded steps do not chain as the layout requires: %w", ErrLink, err)
	}
	return writeAll(dir, files, layout, pub)
}

// LinkFile is the bundle path of a step's link signed by key: links/<step>.<keyid8>.link.
func LinkFile(step string, key intoto.Key) string {
	return path.Join(bundle.LinksDir, fmt.Sprintf(intoto.LinkNameFormat, step, key.KeyID))
}

func (s *Set) validate() error {
	if err := s.Layout.Validate(); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, st := range s.Layout.Steps {
		want[st.Name] = true
	}
	got := map[string]bool{}
	for _, l := range s.Links {
		if err := l.Validate(); err != nil {
			return err
		}
		switch {
		case !want[l.Step]:
			return fmt.Errorf("%w: link for step %q, which the layout does not have", ErrLink, l.Step)
		case got[l.Step]:
			return fmt.Errorf("%w: two links for step %q", ErrLink, l.Step)
		}
		got[l.Step] = true
	}
	for _, st := range s.Layout.Steps {
		if !got[st.Name] {
			return fmt.Errorf("%w: no link for step %q of the layout", ErrLink, st.Name)
		}
	}
	return nil
}

// intoto converts the link to in-toto's model. Empty maps rather than nil: the stock loader
// requires every field to be present.
func (l Link) intoto() intoto.Link {
	by := map[string]any{}
	for k, v := range l.Byproducts {
		by[k] = v
	}
	env := map[string]any{}
	for k, v := range l.Environment {
		env[k] = v
	}
	return intoto.Link{
		Type:        "link",
		Name:        l.Step,
		Materials:   hashObjs(l.Materials),
		Products:    hashObjs(l.Products),
		ByProducts:  by,
		Command:     nonNil(l.Command),
		Environment: env,
	}
}

func hashObjs(f Files) map[string]intoto.HashObj {
	out := make(map[string]intoto.HashObj, len(f))
	for p, d := range f {
		out[p] = intoto.HashObj{"sha256": d}
	}
	return out
}

func stepItems(l intoto.Layout) []any {
	items := make([]any, len(l.Steps))
	for i, s := range l.Steps {
		items[i] = s
	}
	return items
}

func inspectionItems(l intoto.Layout) []any {
	items := make([]any, len(l.Inspect))
	for i, s := range l.Inspect {
		items[i] = s
	}
	return items
}

// writeAll writes the links, then the layout, each atomically, and removes links a previous
// run left for the same steps under another key.
func writeAll(dir string, files map[string]*intoto.Metablock, layout *intoto.Metablock, pub intoto.Key) (*Written, error) {
	out := &Written{KeyID: pub.KeyID}
	for _, p := range sortedKeys(files) {
		if err := writeJSON(dir, p, files[p]); err != nil {
			return nil, err
		}
		out.Files = append(out.Files, p)
		if err := removeStale(dir, p); err != nil {
			return nil, err
		}
	}
	if err := writeJSON(dir, bundle.LayoutFile, layout); err != nil {
		return nil, err
	}
	out.Files = append(out.Files, bundle.LayoutFile)
	return out, nil
}

func writeJSON(dir, p string, mb *intoto.Metablock) error {
	data, err := json.MarshalIndent(mb, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLink, p, err)
	}
	if err := bundle.WriteFile(dir, p, append(data, '\n')); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrLink, p, err)
	}
	return nil
}

// removeStale deletes links/<step>.<other keyid>.link next to the link just written.
func removeStale(dir, written string) error {
	step := strings.TrimSuffix(path.Base(written), path.Ext(written))
	step = step[:strings.LastIndexByte(step, '.')]
	matches, err := filepath.Glob(filepath.Join(dir, bundle.LinksDir, fmt.Sprintf(intoto.LinkGlobFormat, step)))
	if err != nil {
		return err
	}
	for _, m := range matches {
		if filepath.Base(m) == path.Base(written) {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: remove stale %s: %w", ErrLink, m, err)
		}
	}
	return nil
}
