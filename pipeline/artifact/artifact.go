// Package artifact defines the one artifact type every stage hands to the next: a file in a
// release bundle with its kind, media type, size and digests. Kinds are a closed set, and a
// list of artifacts never holds the same path twice.
package artifact

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/internal/safepath"
)

// Kind says what an artifact is for. The set is closed: Validate refuses any other value.
type Kind string

const (
	KindArchive  Kind = "archive"  // a per-platform archive of binaries (tar.gz, zip)
	KindBinary   Kind = "binary"   // a bare executable
	KindImage    Kind = "image"    // an OCI image layout tarball
	KindDocs     Kind = "docs"     // the documentation bundle
	KindFile     Kind = "file"     // any other file the project ships
	KindMetadata Kind = "metadata" // a record about the release (deps.lock.json, bench.json); not a provenance subject
)

var kinds = map[Kind]bool{KindArchive: true, KindBinary: true, KindImage: true, KindDocs: true, KindFile: true, KindMetadata: true}

// IsSubject reports whether artifacts of this kind are provenance subjects: everything the
// project ships, but not the pipeline's records about it.
func (k Kind) IsSubject() bool { return k != KindMetadata }

// Digests holds the hex digests of one file. SHA-256 is always present; SHA-512 is optional.
type Digests struct {
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512,omitempty"`
}

// Artifact is one file of a release bundle.
type Artifact struct {
	Path      string  `json:"path"` // slash-separated, relative to the bundle root
	Kind      Kind    `json:"kind"`
	MediaType string  `json:"mediaType"`
	Size      int64   `json:"size"`
	Digest    Digests `json:"digest"`
	Platform  string  `json:"platform,omitempty"` // os/arch for per-platform artifacts
}

// Name is the artifact's file name, the last element of its path.
func (a Artifact) Name() string { return path.Base(a.Path) }

// Validate checks one artifact's fields; errors are named by field.
func (a Artifact) Validate() error {
	if err := safepath.Check(a.Path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if !kinds[a.Kind] {
		return fmt.Errorf("%s: kind: unknown kind %q", a.Path, a.Kind)
	}
	if a.MediaType == "" {
		return fmt.Errorf("%s: mediaType: empty", a.Path)
	}
	if a.Size < 0 {
		return fmt.Errorf("%s: size: negative (%d)", a.Path, a.Size)
	}
	if !isHex(a.Digest.SHA256, 64) {
		return fmt.Errorf("%s: digest.sha256: want 64 lowercase hex digits, got %q", a.Path, a.Digest.SHA256)
	}
	if a.Digest.SHA512 != "" && !isHex(a.Digest.SHA512, 128) {
		return fmt.Errorf("%s: digest.sha512: want 128 lowercase hex digits, got %q", a.Path, a.Digest.SHA512)
	}
	return nil
}

// List is an ordered set of artifacts keyed by path.
type List []Artifact

// Validate checks every artifact and refuses duplicate paths.
func (l List) Validate() error {
	seen := make(map[string]bool, len(l))
	for i, a := range l {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("artifacts[%d]: %w", i, err)
		}
		if seen[a.Path] {
			return fmt.Errorf("artifacts[%d]: duplicate path %q", i, a.Path)
		}
		seen[a.Path] = true
	}
	return nil
}

// Sort orders the list by path, the canonical order of every written list.
func (l List) Sort() { sort.Slice(l, func(i, j int) bool { return l[i].Path < l[j].Path }) }

// Filter returns the artifacts for which keep is true.
func (l List) Filter(keep func(Artifact) bool) List {
	var out List
	for _, a := range l {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// Subjects returns the artifacts that provenance must name.
func (l List) Subjects() List { return l.Filter(func(a Artifact) bool { return a.Kind.IsSubject() }) }

// ByPath indexes the list by path.
func (l List) ByPath() map[string]Artifact {
	m := make(map[string]Artifact, len(l))
	for _, a := range l {
		m[a.Path] = a
	}
	return m
}

// MediaTypeFor guesses a media type from a file name. OCI layouts and Sigstore bundles get
// their registered types; unknown files are application/octet-stream.
func MediaTypeFor(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".sigstore.json"):
		return "application/vnd.dev.sigstore.bundle.v0.3+json"
	case strings.HasSuffix(n, ".oci.tar"):
		return "application/vnd.oci.image.layout.v1+tar"
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "application/gzip"
	case strings.HasSuffix(n, ".tar"):
		return "application/x-tar"
	case strings.HasSuffix(n, ".zip"):
		return "application/zip"
	case strings.HasSuffix(n, ".json"):
		return "application/json"
	case strings.HasSuffix(n, ".md"):
		return "text/markdown"
	case strings.HasSuffix(n, ".txt"):
		return "text/plain"
	}
	return "application/octet-stream"
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
