package sbom

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sort"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/pipeline/freeze"
)

// modules are the components of every module linked into the binary, sorted by package
// URL, each checked against the lock when there is one.
func modules(bi *debug.BuildInfo, lock *freeze.Lock) ([]cdx.Component, error) {
	var out []cdx.Component
	var errs []error
	for _, d := range bi.Deps {
		c, err := component(d, lock)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BOMRef < out[j].BOMRef })
	for i := 1; i < len(out); i++ {
		if out[i].BOMRef == out[i-1].BOMRef {
			return nil, fmt.Errorf("module %s is listed twice in the build info", out[i].Name)
		}
	}
	return out, nil
}

// component describes one module as linked: the module path and version the build asked
// for, and, when replaced, the code that was really used (the replacement's sum is the hash).
func component(d *debug.Module, lock *freeze.Lock) (cdx.Component, error) {
	sum, err := lockedSum(d, lock)
	if err != nil {
		return cdx.Component{}, err
	}
	purl := PURL(d.Path, d.Version)
	c := cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: d.Path, Version: d.Version, PackageURL: purl}
	if h := h1Hex(sum); h != "" {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
	}
	if r := d.Replace; r != nil {
		props := []cdx.Property{{Name: "reliquary:replacedBy", Value: r.Path}}
		if r.Version != "" {
			props = append(props, cdx.Property{Name: "reliquary:replacedByVersion", Value: r.Version})
		}
		c.Properties = &props
	}
	return c, nil
}

// lockedSum is the module's h1: sum, after checking that the lock names the module at that
// version (and replacement) with the same sum. A local-directory replacement has no sum in
// the build info; the lock's hash of the directory is used.
func lockedSum(d *debug.Module, lock *freeze.Lock) (string, error) {
	used := d
	if d.Replace != nil {
		used = d.Replace
	}
	if lock == nil {
		return used.Sum, nil
	}
	m, ok := findLocked(d, lock)
	if !ok {
		return "", fmt.Errorf("module %s %s is linked into the binary but deps.lock.json does not name it", d.Path, versionOf(d))
	}
	switch {
	case used.Sum == "":
		return m.Sum, nil
	case m.Sum != "" && m.Sum != used.Sum:
		return "", fmt.Errorf("module %s %s: the binary's sum %s is not the lock's %s", d.Path, versionOf(d), used.Sum, m.Sum)
	}
	return used.Sum, nil
}

// findLocked finds the lock's entry for a linked module: by the replacement when replaced
// (the lock may list it under either path), else by path and version.
func findLocked(d *debug.Module, lock *freeze.Lock) (freeze.Module, bool) {
	for _, m := range lock.Modules {
		if r := d.Replace; r != nil {
			if replacedAs(m, d, r) {
				return m, true
			}
			continue
		}
		if m.Path == d.Path && m.Version == d.Version && m.Replace == nil {
			return m, true
		}
	}
	return freeze.Module{}, false
}

func replacedAs(m freeze.Module, d, r *debug.Module) bool {
	if m.Replace == nil {
		return false
	}
	if r.Version == "" || r.Version == "(devel)" { // a local directory
		return m.Replace.Local && m.Path == d.Path
	}
	return m.Replace.Path == r.Path && m.Replace.Version == r.Version && (m.Path == d.Path || m.Path == r.Path)
}

func versionOf(d *debug.Module) string {
	if d.Replace != nil {
		return d.Version + " => " + d.Replace.Path + " " + d.Replace.Version
	}
	return d.Version
}
