package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media and artifact types of what this package pushes.
const (
	// ArtifactType marks a release bundle artifact (its manifest's artifactType).
	ArtifactType = "application/vnd.reliquary.release.v1"
	// FileMediaType is the media type of each bundle file's layer.
	FileMediaType = "application/vnd.reliquary.release.file.v1"
	// SigstoreBundleType is the artifactType and layer media type cosign v3 gives a
	// Sigstore bundle referrer (sigstore-go bundle.MediaTypeString("0.3")).
	SigstoreBundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// emptyConfigType and emptyConfig are the OCI 1.1 empty descriptor of an artifact.
	emptyConfigType = "application/vnd.oci.empty.v1+json"
	// Annotation keys.
	titleAnnotation         = "org.opencontainers.image.title"
	versionAnnotation       = "org.opencontainers.image.version"
	predicateTypeAnnotation = "dev.sigstore.bundle.predicateType" // cosign's BundlePredicateType
	bundleContentAnnotation = "dev.sigstore.bundle.content"
)

var emptyConfig = []byte("{}")

// ociManifest is an OCI 1.1 image manifest with the fields go-containerregistry's
// v1.Manifest lacks (artifactType).
type ociManifest struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// ociArtifact is an OCI 1.1 artifact as a v1.Image, so remote.Write pushes it: blobs first
// (skipping those present), then the manifest, then the referrers fallback tag.
type ociArtifact struct {
	raw    []byte
	layers map[v1.Hash]v1.Layer
}

// newArtifact builds the manifest of an artifact of the given type with these layers and
// annotations whose subject is the image index desc. The manifest is deterministic: the
// same inputs give the same digest, so a rerun pushes nothing new.
func newArtifact(artifactType string, layers []v1.Layer, layerAnn []map[string]string, subject v1.Descriptor, ann map[string]string) (*ociArtifact, error) {
	cfg := static.NewLayer(emptyConfig, emptyConfigType)
	a := &ociArtifact{layers: map[v1.Hash]v1.Layer{}}
	m := ociManifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: ann,
	}
	d, err := descriptorOf(cfg, nil)
	if err != nil {
		return nil, err
	}
	m.Config = d
	a.layers[d.Digest] = cfg
	m.Layers = []v1.Descriptor{}
	for i, l := range layers {
		d, err := descriptorOf(l, layerAnn[i])
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, d)
		a.layers[d.Digest] = l
	}
	if a.raw, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return a, nil
}

func descriptorOf(l v1.Layer, ann map[string]string) (v1.Descriptor, error) {
	d, err := partial.Descriptor(l)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d.Annotations = ann
	return *d, nil
}

func (a *ociArtifact) image() (v1.Image, error) { return partial.CompressedToImage(a) }

// Digest is the manifest's digest.
func (a *ociArtifact) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(a.raw))
	return h, err
}

func (a *ociArtifact) RawConfigFile() ([]byte, error)      { return emptyConfig, nil }
func (a *ociArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *ociArtifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a *ociArtifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	l, ok := a.layers[h]
	if !ok {
		return nil, fmt.Errorf("artifact has no blob %s", h)
	}
	return l, nil
}

// fileLayer is a bundle file as a layer, read from disk each time it is uploaded.
type fileLayer struct {
	path string
	hash v1.Hash
	size int64
}

func newFileLayer(path string) (*fileLayer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &fileLayer{path: path, size: n, hash: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.hash, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return FileMediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) asLayer() (v1.Layer, error)          { return partial.CompressedToLayer(l) }
