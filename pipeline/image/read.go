package image

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/sentientos/reliquary/internal/inflate"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// ReadBinary returns the binary called name from the image of platform (os/arch) in an OCI
// image layout tarball, offline: the file at BinDir/name in the topmost layer that has it,
// at most max bytes.
func ReadBinary(tarball, platform, name string, max int64) ([]byte, error) {
	osName, arch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("image: platform %q: want os/arch", platform)
	}
	b, err := openBase(tarball)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	img, _, err := findImage(b.idx, v1.Platform{OS: osName, Architecture: arch}, 0)
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", tarball, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", tarball, err)
	}
	member := path.Join(strings.TrimPrefix(BinDir, "/"), name)
	for i := len(layers) - 1; i >= 0; i-- {
		data, err := layerFile(layers[i], member, max)
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, errNotInLayer) {
			return nil, fmt.Errorf("image: %s: %s layer %d: %w", tarball, platform, i, err)
		}
	}
	return nil, fmt.Errorf("image: %s: %s: no /%s in any layer", tarball, platform, member)
}

var errNotInLayer = errors.New("not in the layer")

func layerFile(l v1.Layer, member string, max int64) ([]byte, error) {
	rc, err := inflate.Layer(l)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := archive.TarMember(io.Reader(rc), member, max)
	if errors.Is(err, archive.ErrNoMember) {
		return nil, errNotInLayer
	}
	return data, err
}
