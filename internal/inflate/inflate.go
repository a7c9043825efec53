// Package inflate decompresses gzip streams, zip archives and image layers with
// github.com/klauspost/compress, whose inflater is about a third faster than the standard
// library's. The gate and the audit decompress every archive and image layer of a release
// (the binaries' build info, the secret scan), which is most of a warm release's CPU time.
// Only reading goes through it: what reliquary writes is compressed by the standard library,
// so no artifact's bytes depend on this package.
package inflate

import (
	"archive/zip"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Gzip reads a gzip stream (every member of a multi-member stream, as compress/gzip does).
func Gzip(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }

// Zip opens a zip archive whose deflated members inflate with the faster decompressor.
func Zip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
	return zr, nil
}

// Layer is an image layer's uncompressed content: a gzip layer is inflated here, any other
// media type (a base image may carry uncompressed or zstd layers) by go-containerregistry.
func Layer(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil || (mt != types.OCILayer && mt != types.DockerLayer) {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
