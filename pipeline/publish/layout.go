package publish

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// ErrLayout: the image artifact is not the OCI layout tarball this package can push.
var ErrLayout = errors.New("OCI layout")

// layoutMember is the only names an OCI layout tarball holds: the marker, the top index and
// sha256 blobs. Anything else (another path, a link, a device) is refused rather than
// written, so a member name cannot reach outside the extraction directory.
var layoutMember = regexp.MustCompile(`^(oci-layout|index\.json|blobs/sha256/[0-9a-f]{64})$`)

// checkMember says why a tar header cannot be part of a layout, or nil.
func checkMember(h *tar.Header) error {
	if h.Typeflag == tar.TypeDir && (h.Name == "blobs/" || h.Name == "blobs/sha256/") {
		return nil
	}
	if h.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: member %q is not a regular file", ErrLayout, h.Name)
	}
	if !layoutMember.MatchString(h.Name) {
		return fmt.Errorf("%w: member %q is not oci-layout, index.json or blobs/sha256/HEX", ErrLayout, h.Name)
	}
	return nil
}

// extractLayout unpacks the layout tarball at src into the empty directory dst.
func extractLayout(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	err = readLayout(f, func(name string, r io.Reader) error {
		return bundle.Write(dst, name, func(w io.Writer) error {
			_, err := io.Copy(w, r)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}

// readLayout reads a layout tarball and hands each member that may be part of a layout to
// write; anything else is an error.
func readLayout(r io.Reader, write func(name string, r io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrLayout, err)
		}
		if err := checkMember(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if err := write(h.Name, tr); err != nil {
			return err
		}
	}
}

// layoutIndex opens the extracted layout in dir and returns its one image index: reliquary
// writes a multi-platform image as exactly one index named by index.json.
func layoutIndex(dir, name string) (v1.ImageIndex, v1.Descriptor, error) {
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%w: %s: %w", ErrLayout, name, err)
	}
	d, err := parseTopIndex(io.LimitReader(f, 1<<20))
	f.Close()
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%s: %w", name, err)
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%w: %s: %w", ErrLayout, name, err)
	}
	idx, err := top.ImageIndex(d.Digest)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%w: %s: %w", ErrLayout, name, err)
	}
	return idx, d, nil
}

// indexDigestOf reads only index.json from the layout tarball at path and returns the
// image index it names, without unpacking blobs.
func indexDigestOf(path string) (v1.Descriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("%w: %s: no index.json: %w", ErrLayout, path, err)
		}
		if h.Name != "index.json" {
			continue
		}
		return parseTopIndex(io.LimitReader(tr, 1<<20))
	}
}

// parseTopIndex decodes a layout's index.json and returns its one image index descriptor.
func parseTopIndex(r io.Reader) (v1.Descriptor, error) {
	im, err := v1.ParseIndexManifest(r)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: index.json: %w", ErrLayout, err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].MediaType != types.OCIImageIndex {
		return v1.Descriptor{}, fmt.Errorf("%w: index.json must name exactly one image index, names %d entries", ErrLayout, len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
		return v1.Descriptor{}, fmt.Errorf("%w: index.json: digest %q is not sha256", ErrLayout, d.Digest)
	}
	return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
}
