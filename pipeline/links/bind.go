package links

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// manifestTag introduces the manifest's sha256 in a layout's readme: the one free field of
// an in-toto layout, covered by the layout's signature. in-toto's own rules cannot tell the
// layout of one release from another's (the steps and rules are the same), so the gate
// requires the layout to name the very manifest it verifies.
const manifestTag = "manifest.json sha256:"

var manifestInReadme = regexp.MustCompile(regexp.QuoteMeta(manifestTag) + `([0-9a-f]{64})\b`)

// ManifestOf returns the manifest sha256 (hex) a layout's readme names, or "" when it names
// none or more than one.
func ManifestOf(readme string) string {
	m := manifestInReadme.FindAllStringSubmatch(readme, 2)
	if len(m) != 1 {
		return ""
	}
	return m[0][1]
}

// FileProblem is one problem Verify pins on one bundle file.
type FileProblem struct {
	File    string
	Message string
}

// FileError is a Verify failure about particular bundle files, so that a caller can report
// each file by name. It wraps ErrLink.
type FileError struct{ Problems []FileProblem }

func (e *FileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.File + ": " + p.Message
	}
	return fmt.Sprintf("%v: %s", ErrLink, strings.Join(parts, "; "))
}

func (e *FileError) Unwrap() error { return ErrLink }

// checkRelease requires the (signature-checked) layout to name the bundle's manifest.json.
func checkRelease(layout intoto.Layout, files Files) error {
	got, want := ManifestOf(layout.Readme), files[bundle.ManifestFile]
	switch {
	case want == "":
		return &FileError{[]FileProblem{{bundle.ManifestFile, "missing: the layout is bound to it"}}}
	case got == "":
		return &FileError{[]FileProblem{{bundle.LayoutFile, "names no " + manifestTag + "digest, so it cannot be tied to this release (a layout written before the binding: attest the bundle again)"}}}
	case got != want:
		return &FileError{[]FileProblem{{bundle.LayoutFile, fmt.Sprintf("is the layout of another release: it names %s%s, this bundle's manifest is sha256:%s", manifestTag, got, want)}}}
	}
	return nil
}

// checkKeyFiles requires keys/ to hold exactly the key files the sign step's link says it
// wrote, with the same sha256. That link is signed, and its material is the manifest the
// layout is bound to, so a key file renamed, copied, added or deleted since fails, by name.
// A layout without a sign step ships no keys.
func checkKeyFiles(steps map[string]intoto.Metadata, files Files) error {
	md, ok := steps[StepSign]
	if !ok {
		return nil
	}
	link, _ := md.GetPayload().(intoto.Link)
	shipped := map[string]string{}
	for p, h := range link.Products {
		if isKeyFile(p) {
			shipped[p] = h["sha256"]
		}
	}
	var problems []FileProblem
	for p, d := range files {
		want, ok := shipped[p]
		switch {
		case !isKeyFile(p):
		case !ok:
			problems = append(problems, FileProblem{p, "not a key file the release's sign step wrote (its signed link names " + names(shipped) + "): a key file renamed, copied or added after signing"})
		case want != d:
			problems = append(problems, FileProblem{p, fmt.Sprintf("differs from the key file the sign step wrote (sha256:%s, now sha256:%s)", want, d)})
		}
	}
	for p := range shipped {
		if _, ok := files[p]; !ok {
			problems = append(problems, FileProblem{p, "missing: the release's sign step wrote it (its signed link names it)"})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return &FileError{problems}
}

func names(files map[string]string) string {
	if len(files) == 0 {
		return "no key file"
	}
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
