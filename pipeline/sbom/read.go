package sbom

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// MaxSize bounds an SBOM file read from a bundle.
const MaxSize = 16 << 20

// BuildInfo reads the build info out of a Go binary (any platform's executable format).
func BuildInfo(name string, r io.ReaderAt) (*debug.BuildInfo, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no Go build info (stripped, or not a Go binary): %v", ErrSBOM, name, err)
	}
	return bi, nil
}

// Parse decodes an SBOM this package wrote: CycloneDX 1.6 JSON with a metadata component
// (the binary) and components with package URLs. name is for errors.
func Parse(name string, data []byte) (*cdx.BOM, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrSBOM, name, MaxSize)
	}
	var b cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSBOM, name, err)
	}
	switch {
	case b.BOMFormat != cdx.BOMFormat || b.SpecVersion != cdx.SpecVersion1_6:
		return nil, fmt.Errorf("%w: %s: want a CycloneDX 1.6 BOM, got %q %s", ErrSBOM, name, b.BOMFormat, b.SpecVersion)
	case b.Metadata == nil || b.Metadata.Component == nil:
		return nil, fmt.Errorf("%w: %s: no metadata.component (the binary it describes)", ErrSBOM, name)
	}
	for i, c := range components(&b) {
		if !strings.HasPrefix(c.PackageURL, "pkg:golang/") {
			return nil, fmt.Errorf("%w: %s: components[%d] (%s): want a pkg:golang/ package URL, got %q", ErrSBOM, name, i, c.Name, c.PackageURL)
		}
	}
	return &b, nil
}

func components(b *cdx.BOM) []cdx.Component {
	if b.Components == nil {
		return nil
	}
	return *b.Components
}

// Rename rewrites the subjects' paths of an SBOM (promotion renames the artifacts that ship
// the binary; their bytes, and so everything else the SBOM says, stay the same).
func Rename(name string, data []byte, rename func(string) string) ([]byte, error) {
	b, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	if refs := b.Metadata.Component.ExternalReferences; refs != nil {
		for i := range *refs {
			(*refs)[i].URL = rename((*refs)[i].URL)
		}
	}
	return Marshal(b)
}
