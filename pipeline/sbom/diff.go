package sbom

import (
	"encoding/json"
	"fmt"
	"sort"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// view is an SBOM in comparable pieces: the binary, each component by package URL (as
// JSON), and the rest of the document.
type view struct {
	main       string
	components map[string]string
	names      map[string]string
	rest       string
}

func viewOf(b *cdx.BOM) view {
	v := view{components: map[string]string{}, names: map[string]string{}}
	c := *b
	if b.Metadata != nil {
		md := *b.Metadata
		v.main = jsonOf(md.Component)
		md.Component = nil
		c.Metadata = &md
	}
	for _, comp := range components(b) {
		v.components[comp.PackageURL] = jsonOf(comp)
		v.names[comp.PackageURL] = comp.Name
	}
	c.Components = nil
	v.rest = jsonOf(&c)
	return v
}

// Diff lists how got (a shipped SBOM) differs from want (regenerated from the binary), one
// line per difference, naming the module: added, removed or changed components, and a
// changed binary description. Empty means they say the same.
func Diff(want, got *cdx.BOM) []string {
	w, g := viewOf(want), viewOf(got)
	var out []string
	if w.main != g.main {
		out = append(out, fmt.Sprintf("the binary's description differs: the SBOM says %s, the binary says %s", g.main, w.main))
	}
	for ref, wc := range w.components {
		gc, ok := g.components[ref]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("module %s (%s) is in the binary but missing from the SBOM", w.names[ref], ref))
		case wc != gc:
			out = append(out, fmt.Sprintf("module %s (%s) differs: the SBOM says %s, the binary says %s", w.names[ref], ref, gc, wc))
		}
	}
	for ref := range g.components {
		if _, ok := w.components[ref]; !ok {
			out = append(out, fmt.Sprintf("module %s (%s) is in the SBOM but not in the binary", g.names[ref], ref))
		}
	}
	if len(out) == 0 && w.rest != g.rest {
		out = append(out, "the SBOM's other fields (serial number, timestamp, dependencies) differ from the SBOM regenerated from the binary")
	}
	sort.Strings(out)
	return out
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
