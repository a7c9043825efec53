package image

import (
	"bytes"
	"compress/gzip"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// binaryLayer is one gzip-compressed layer holding the binaries in BinDir. The tar comes
// from pipeline/archive, so its bytes depend only on names, contents and t; gzip runs with
// an empty header at a fixed level, so the compressed digest is stable too (for a given Go
// version's compress/flate).
func binaryLayer(bins []Binary, t time.Time, mt types.MediaType) (v1.Layer, error) {
	var entries []archive.Entry
	for _, b := range bins {
		entries = append(entries, archive.Entry{
			Name: path.Join(strings.TrimPrefix(BinDir, "/"), b.Name),
			Mode: archive.ModeExec,
			Path: b.Path,
		})
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := archive.WriteTar(zw, entries, t); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
