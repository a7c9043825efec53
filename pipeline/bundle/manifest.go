package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sentientos/reliquary/internal/strictjson"
	"github.com/sentientos/reliquary/pipeline/artifact"
)

// ManifestSchema identifies version 1 of the manifest format. A manifest with any other
// schema is refused: a reader must never guess at fields it does not know.
const ManifestSchema = "https://reliquary.dev/manifest/v1"

// MaxManifestSize bounds manifest.json. 64 MiB holds several hundred thousand artifacts.
const MaxManifestSize = 64 << 20

// ErrManifest is the root of every manifest decoding and validation error.
var ErrManifest = errors.New("invalid manifest")

// Attestation kinds a manifest may declare. A declared attestation is required by the gate,
// so removing its file from a signed release is detected rather than silently skipped.
const (
	AttestProvenance      = "provenance"
	AttestLinks           = "links"
	AttestBenchmark       = "benchmark"
	AttestReproducibility = "reproducibility"
	AttestEscrow          = "escrow"
	AttestSBOM            = "sbom" // every archive and image is a subject of a signed SBOM
)

var attestationKinds = map[string]bool{
	AttestProvenance: true, AttestLinks: true, AttestBenchmark: true,
	AttestReproducibility: true, AttestEscrow: true, AttestSBOM: true,
}

// Manifest is the immutability manifest: what was released, from which source, with which
// tools, and the digest of every file. It is the document the release signature covers.
type Manifest struct {
	Schema       string        `json:"schema"`
	Project      string        `json:"project"`
	Version      string        `json:"version"`
	Source       Source        `json:"source"`
	Toolchain    string        `json:"toolchain,omitempty"`
	BaseImages   []Image       `json:"baseImages,omitempty"`
	Dependencies string        `json:"dependencies,omitempty"` // sha256:HEX over the frozen dependency set
	Attestations []string      `json:"attestations,omitempty"` // attestation kinds this release carries
	Artifacts    artifact.List `json:"artifacts"`
}

// Source names the code a release was built from.
type Source struct {
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Commit     string `json:"commit,omitempty"`
	TreeDigest string `json:"treeDigest,omitempty"` // sha256:HEX over the source tree
}

// Image is a base image pinned by digest.
type Image struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // sha256:HEX
}

// Validate checks the manifest's fields; errors name the field.
func (m *Manifest) Validate() error {
	if m.Schema != ManifestSchema {
		return fmt.Errorf("%w: schema: want %q, got %q", ErrManifest, ManifestSchema, m.Schema)
	}
	if strings.TrimSpace(m.Project) == "" {
		return fmt.Errorf("%w: project: empty", ErrManifest)
	}
	if strings.TrimSpace(m.Version) == "" {
		return fmt.Errorf("%w: version: empty", ErrManifest)
	}
	for i, im := range m.BaseImages {
		if im.Name == "" || !strings.HasPrefix(im.Digest, "sha256:") {
			return fmt.Errorf("%w: baseImages[%d]: want a name and a sha256: digest", ErrManifest, i)
		}
	}
	for i, a := range m.Attestations {
		if !attestationKinds[a] {
			return fmt.Errorf("%w: attestations[%d]: unknown kind %q", ErrManifest, i, a)
		}
	}
	if len(m.Artifacts) == 0 {
		return fmt.Errorf("%w: artifacts: empty (a release must ship at least one file)", ErrManifest)
	}
	for _, a := range m.Artifacts {
		if IsReserved(a.Path) {
			return fmt.Errorf("%w: artifacts: %q is a reserved bundle file, not an artifact", ErrManifest, a.Path)
		}
	}
	if err := m.Artifacts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrManifest, err)
	}
	return nil
}

// Declares reports whether the manifest declares an attestation kind.
func (m *Manifest) Declares(kind string) bool {
	for _, a := range m.Attestations {
		if a == kind {
			return true
		}
	}
	return false
}

// Marshal returns the canonical encoding: artifacts sorted by path, fixed key order, two-space
// indentation, a final newline. The same manifest always gives the same bytes.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := *m
	c.Artifacts = append(artifact.List(nil), m.Artifacts...)
	c.Artifacts.Sort()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseManifest decodes and validates a manifest strictly: size-limited, unknown fields and
// duplicate keys refused, unknown schema refused.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := strictjson.Decode(data, MaxManifestSize, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReadManifest reads and parses a manifest from r without reading more than the limit.
func ReadManifest(r io.Reader) (*Manifest, error) {
	data, err := strictjson.ReadLimited(r, MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	return ParseManifest(data)
}
