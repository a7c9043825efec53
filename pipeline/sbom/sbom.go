// Package sbom writes and checks one CycloneDX 1.6 SBOM per Go binary, from the build info
// the linker embedded in it (debug/buildinfo), cross-checked against the frozen lock.
//
// Contract:
//   - The SBOM says what the binary says: its main module, every module linked in with
//     version and h1: sum (as a SHA-256, which is what h1: is), replacements, the Go
//     toolchain (a component of its own) and the build settings. A module the lock does not
//     name, or names at another version or sum, is an error naming the module.
//   - Binaries whose build info cannot tell the whole truth are refused with the reason:
//     no build info (stripped, or not Go), a cgo binary (the C libraries it links are not
//     in the build info), and a module at (devel) with no replacement (a go.work workspace).
//   - The subjects (the archive and the image the binary ships in) are the metadata
//     component's distribution references, with their SHA-256.
//   - Generate is a pure function of its Input and Marshal is deterministic, so the same
//     build gives the same bytes and the gate can regenerate an SBOM and compare.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// PredicateType is the in-toto predicate type of an SBOM attestation (cosign --type cyclonedx).
const PredicateType = "https://cyclonedx.org/bom"

// MediaType is the SBOM file's media type.
const MediaType = "application/vnd.cyclonedx+json"

// Dir is where a bundle keeps its SBOMs, one per binary: Dir/NAME_OS_ARCH.cdx.json.
const Dir = bundle.SBOMDir

// schemaURL is the $schema every SBOM names.
const schemaURL = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// ErrSBOM is the root of this package's errors.
var ErrSBOM = errors.New("sbom")

// Subject is a shipped file that contains the binary.
type Subject struct {
	Path   string // bundle path, e.g. artifacts/x_1.0_linux_amd64.tar.gz
	SHA256 string // hex
}

// Input is one binary to describe.
type Input struct {
	Name     string // the binary's file name in the archive (x, x.exe)
	Platform string // os/arch
	Version  string // the release version
	SHA256   string // hex digest of the binary
	Time     time.Time
	Info     *debug.BuildInfo
	Lock     *freeze.Lock // nil: no cross-check (refused by callers that have a lock)
	Subjects []Subject
}

// FileName is the SBOM's path in a bundle for a binary on a platform.
func FileName(binary, platform string) string {
	return Dir + "/" + strings.TrimSuffix(binary, ".exe") + "_" + strings.ReplaceAll(platform, "/", "_") + ".cdx.json"
}

// Generate builds the SBOM for in, or refuses with the reason.
func Generate(in Input) (*cdx.BOM, error) {
	if err := check(in.Info); err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %v", ErrSBOM, in.Name, in.Platform, err)
	}
	comps, err := modules(in.Info, in.Lock)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %v", ErrSBOM, in.Name, in.Platform, err)
	}
	tool := toolchain(in.Info)
	main := mainComponent(in)
	all := append([]cdx.Component{tool}, comps...)
	sort.Slice(all, func(i, j int) bool { return all[i].BOMRef < all[j].BOMRef })
	var deps []string
	for _, c := range all {
		deps = append(deps, c.BOMRef)
	}
	return &cdx.BOM{
		JSONSchema: schemaURL, BOMFormat: cdx.BOMFormat, SpecVersion: cdx.SpecVersion1_6,
		SerialNumber: serial(in), Version: 1,
		Metadata: &cdx.Metadata{
			Timestamp: in.Time.UTC().Format(time.RFC3339),
			Component: &main,
		},
		Components:   &all,
		Dependencies: &[]cdx.Dependency{{Ref: main.BOMRef, Dependencies: &deps}},
	}, nil
}

// check refuses build info that cannot describe the binary fully.
func check(bi *debug.BuildInfo) error {
	switch {
	case bi == nil:
		return errors.New("no Go build info (stripped, or not a Go binary)")
	case bi.Main.Path == "":
		return errors.New("the build info names no main module (built from files, not a module): build the package from its module")
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" && s.Value == "1" {
			return errors.New("a cgo binary: the C libraries it links are not in the build info, so an SBOM from it would be incomplete; build with CGO_ENABLED=0")
		}
	}
	for _, d := range bi.Deps {
		if d.Version == "(devel)" && d.Replace == nil {
			return fmt.Errorf("module %s is at (devel) with no replacement: built in a go.work workspace? build with GOWORK=off", d.Path)
		}
	}
	return nil
}

// mainComponent is the binary itself: its main module, hash, build settings and the
// artifacts it ships in.
func mainComponent(in Input) cdx.Component {
	purl := PURL(in.Info.Main.Path, in.Version)
	props := []cdx.Property{{Name: "reliquary:platform", Value: in.Platform}, {Name: "reliquary:package", Value: in.Info.Path}}
	for _, s := range in.Info.Settings {
		props = append(props, cdx.Property{Name: "reliquary:build:" + s.Key, Value: s.Value})
	}
	var refs []cdx.ExternalReference
	for _, s := range in.Subjects {
		refs = append(refs, cdx.ExternalReference{URL: s.Path, Type: cdx.ERTypeDistribution,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: s.SHA256}}})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].URL < refs[j].URL })
	c := cdx.Component{
		BOMRef: purl, Type: cdx.ComponentTypeApplication, Name: in.Name, Version: in.Version,
		PackageURL: purl, Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: in.SHA256}},
		Properties: &props,
	}
	if len(refs) > 0 {
		c.ExternalReferences = &refs
	}
	return c
}

// toolchain is the Go toolchain the binary was built with.
func toolchain(bi *debug.BuildInfo) cdx.Component {
	v := bi.GoVersion
	purl := "pkg:golang/std@" + v + "?type=module"
	return cdx.Component{BOMRef: purl, Type: cdx.ComponentTypePlatform, Name: "go", Version: v, PackageURL: purl,
		Description: "the Go toolchain and standard library the binary was built with"}
}

// PURL is the package URL of a Go module version.
func PURL(path, version string) string {
	p := "pkg:golang/" + path
	if version != "" {
		p += "@" + version
	}
	return p + "?type=module"
}

// serial is a UUID derived from the binary's digest and platform (RFC 4122 layout, version
// 5 bits), so the SBOM is deterministic and still unique per binary.
func serial(in Input) string {
	h := sha256.Sum256([]byte(in.SHA256 + "\x00" + in.Platform + "\x00" + in.Name))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// h1Hex turns an h1: sum (base64 of a SHA-256) into hex, or "" when it is not one.
func h1Hex(sum string) string {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(b)
}

// Marshal encodes the SBOM deterministically (indented, no HTML escaping, trailing newline).
func Marshal(b *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	if err := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).Encode(b); err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrSBOM, err)
	}
	return buf.Bytes(), nil
}
