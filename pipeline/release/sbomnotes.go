package release

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// sbomSection is the release notes' account of the SBOMs: the toolchain, the direct
// dependencies (the go.mod requirements not marked indirect, at the versions the binaries
// link; every linked module when go.mod cannot be read) and how to check the SBOMs. ok is
// false when the release has no SBOM.
func sbomSection(dir string, m *bundle.Manifest, repo *gitlog.Repo, keyFile, bundleDir string) (sec notes.Section, ok bool, err error) {
	var files []string
	for _, a := range m.Artifacts {
		if path.Dir(a.Path) == bundle.SBOMDir && strings.HasSuffix(a.Path, ".cdx.json") {
			files = append(files, a.Path)
		}
	}
	if len(files) == 0 {
		return notes.Section{}, false, nil
	}
	toolchains, modules, err := linked(dir, files)
	if err != nil {
		return notes.Section{}, false, err
	}
	direct, scope := directOf(repo, modules)
	var b strings.Builder
	fmt.Fprintf(&b, "Every binary has a CycloneDX 1.6 SBOM in `%s/` (one per binary and platform), made from the build info the Go linker embedded in it and checked against `%s`; each is signed as an in-toto attestation beside it (`.sigstore.json`).\n\n", bundle.SBOMDir, bundle.DepsLockFile)
	fmt.Fprintf(&b, "- Toolchain: %s\n", strings.Join(toolchains, ", "))
	if len(direct) == 0 {
		fmt.Fprintf(&b, "- %s: none (the standard library only)\n", scope)
	} else {
		fmt.Fprintf(&b, "- %s:\n", scope)
		for _, d := range direct {
			fmt.Fprintf(&b, "  - `%s`\n", d)
		}
	}
	if keyFile == "" {
		keyFile = "release.pub"
	}
	if bundleDir == "" {
		bundleDir = "dist"
	}
	fmt.Fprintf(&b, "\n`reliquary verify %s --key %s` checks every SBOM's signature and subjects, and that it says exactly what the binary inside each archive and image says. With stock cosign, for one SBOM and an artifact that ships its binary:\n\n", bundleDir, keyFile)
	fmt.Fprintf(&b, "```sh\ncosign verify-blob-attestation --bundle %s/%s --key %s --insecure-ignore-tlog=true --type cyclonedx %s/%s/NAME_VERSION_OS_ARCH.tar.gz\n```\n",
		bundleDir, sbom.AttestationFile(files[0]), keyFile, bundleDir, bundle.ArtifactsDir)
	return notes.Section{Title: "Software bill of materials", Markdown: b.String(), Placement: notes.AfterChanges}, true, nil
}

// linked reads the SBOMs and returns the toolchains and the modules (path -> version) they list.
func linked(dir string, files []string) ([]string, map[string]string, error) {
	bd, err := bundle.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("notes: %w", err)
	}
	defer bd.Close()
	tools, modules := map[string]bool{}, map[string]string{}
	for _, f := range files {
		data, err := bd.ReadFile(f, sbom.MaxSize)
		if err != nil {
			return nil, nil, fmt.Errorf("notes: %w", err)
		}
		b, err := sbom.Parse(f, data)
		if err != nil {
			return nil, nil, fmt.Errorf("notes: %w", err)
		}
		for _, c := range *b.Components {
			if strings.HasPrefix(c.PackageURL, "pkg:golang/std@") {
				tools[c.Version] = true
			} else {
				modules[c.Name] = c.Version
			}
		}
	}
	var out []string
	for t := range tools {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, modules, nil
}

// directOf lists the direct dependencies as "path version", and what the list is.
func directOf(repo *gitlog.Repo, modules map[string]string) ([]string, string) {
	var req map[string]bool
	if repo != nil {
		if data, err := os.ReadFile(filepath.Join(repo.Dir(), "go.mod")); err == nil {
			if f, err := modfile.ParseLax("go.mod", data, nil); err == nil {
				req = map[string]bool{}
				for _, r := range f.Require {
					if !r.Indirect {
						req[r.Mod.Path] = true
					}
				}
			}
		}
	}
	scope := "Direct dependencies"
	if req == nil {
		scope = "Modules linked in (go.mod was not at hand to tell the direct ones)"
	}
	var out []string
	for p, v := range modules {
		if req == nil || req[p] {
			out = append(out, p+" "+v)
		}
	}
	sort.Strings(out)
	return out, scope
}
