package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/internal/safepath"
)

// Limits on a base image layout tarball, checked while extracting it.
const (
	MaxBaseSize    = 8 << 30
	MaxBaseEntries = 100_000
	maxIndexDepth  = 4
)

// baseImages is the base to build on: scratch, or an OCI layout extracted from a tarball.
type baseImages struct {
	dir string
	idx v1.ImageIndex
}

func openBase(tarball string) (*baseImages, error) {
	if tarball == "" {
		return &baseImages{}, nil
	}
	dir, err := os.MkdirTemp("", "reliquary-base-")
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	b := &baseImages{dir: dir}
	if err := extract(tarball, dir); err != nil {
		b.Close()
		return nil, fmt.Errorf("image: base %s: %w", tarball, err)
	}
	if b.idx, err = layout.ImageIndexFromPath(dir); err != nil {
		b.Close()
		return nil, fmt.Errorf("image: base %s is not an OCI image layout: %w", tarball, err)
	}
	return b, nil
}

// Close removes the extracted layout.
func (b *baseImages) Close() error {
	if b.dir == "" {
		return nil
	}
	return os.RemoveAll(b.dir)
}

// forPlatform returns the base image for p, the digest of its manifest ("" for scratch) and
// the media type our layer must have to match the base's manifest format.
func (b *baseImages) forPlatform(p v1.Platform) (v1.Image, string, types.MediaType, error) {
	if b.idx == nil {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		return img, "", types.OCILayer, nil
	}
	img, d, err := findImage(b.idx, p, 0)
	if err != nil {
		return nil, "", "", fmt.Errorf("image: base: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, "", "", fmt.Errorf("image: base %s: %w", d, err)
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	return img, d.String(), layerType, nil
}

// errNoPlatform says the base has no image for the wanted platform.
var errNoPlatform = errors.New("no image for the platform")

// findImage walks an index (and nested indexes) for the image of platform p. A descriptor
// without a platform is matched on its config's os and architecture.
func findImage(idx v1.ImageIndex, p v1.Platform, depth int) (v1.Image, v1.Hash, error) {
	if depth > maxIndexDepth {
		return nil, v1.Hash{}, fmt.Errorf("indexes nested deeper than %d", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, v1.Hash{}, err
			}
			if img, h, err := findImage(child, p, depth+1); err == nil {
				return img, h, nil
			} else if !errors.Is(err, errNoPlatform) {
				return nil, v1.Hash{}, err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, v1.Hash{}, err
			}
			if matches(d.Platform, img, p) {
				return img, d.Digest, nil
			}
		}
	}
	return nil, v1.Hash{}, fmt.Errorf("%w %s/%s", errNoPlatform, p.OS, p.Architecture)
}

func matches(desc *v1.Platform, img v1.Image, want v1.Platform) bool {
	have := desc
	if have == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return false
		}
		have = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	return have.OS == want.OS && have.Architecture == want.Architecture &&
		(want.Variant == "" || have.Variant == "" || have.Variant == want.Variant)
}

// extract unpacks an OCI layout tarball into dir: regular files and directories only, with
// safe names, bounded in count and size.
func extract(name, dir string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n >= MaxBaseEntries {
			return fmt.Errorf("more than %d entries", MaxBaseEntries)
		}
		if total += h.Size; total > MaxBaseSize {
			return fmt.Errorf("larger than %d bytes", int64(MaxBaseSize))
		}
		if err := extractOne(tr, h, dir); err != nil {
			return err
		}
	}
}

func extractOne(r io.Reader, h *tar.Header, dir string) error {
	rel := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
	if rel == "" || rel == "." {
		return nil
	}
	if err := safepath.Check(rel); err != nil {
		return err
	}
	target := filepath.Join(dir, filepath.FromSlash(rel))
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return fmt.Errorf("%s: entry type %q is not allowed in an image layout", h.Name, h.Typeflag)
}
