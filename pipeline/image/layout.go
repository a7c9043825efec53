package image

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// layoutFile is the content of oci-layout (OCI image layout spec, "oci-layout file").
const layoutFile = `{"imageLayoutVersion":"1.0.0"}`

// writeLayout writes an OCI image layout holding idx as a tar stream: oci-layout,
// index.json naming idx by refName, and every blob idx reaches, in sorted order.
func writeLayout(w io.Writer, idx v1.ImageIndex, refName string, t time.Time) error {
	blobs := map[string][]byte{}
	if err := collectIndex(idx, blobs); err != nil {
		return err
	}
	desc, err := partial.Descriptor(idx)
	if err != nil {
		return err
	}
	desc.Annotations = map[string]string{LabelRefName: refName}
	top := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{*desc}}
	indexJSON, err := json.Marshal(top)
	if err != nil {
		return err
	}
	entries := []archive.Entry{
		{Name: "oci-layout", Data: []byte(layoutFile)},
		{Name: "index.json", Data: indexJSON},
	}
	for h, data := range blobs {
		entries = append(entries, archive.Entry{Name: "blobs/sha256/" + h, Data: data})
	}
	return archive.WriteTar(w, entries, t)
}

// collectIndex adds the raw bytes of idx and everything below it to blobs, keyed by hex.
func collectIndex(idx v1.ImageIndex, blobs map[string][]byte) error {
	raw, err := idx.RawManifest()
	if err != nil {
		return err
	}
	if err := addBlob(blobs, raw, idx.Digest); err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := collectIndex(child, blobs); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			if err := collectImage(img, blobs); err != nil {
				return err
			}
		default:
			return fmt.Errorf("index entry %s: unsupported media type %s", d.Digest, d.MediaType)
		}
	}
	return nil
}

func collectImage(img v1.Image, blobs map[string][]byte) error {
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	if err := addBlob(blobs, raw, img.Digest); err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := addBlob(blobs, cfg, img.ConfigName); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := addBlob(blobs, data, l.Digest); err != nil {
			return err
		}
	}
	return nil
}

// addBlob stores data under the digest its owner claims, after checking that the bytes
// hash to it: a mismatch here would write a corrupt layout.
func addBlob(blobs map[string][]byte, data []byte, digest func() (v1.Hash, error)) error {
	want, err := digest()
	if err != nil {
		return err
	}
	got, _, err := v1.SHA256(bytesReader(data))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("blob %s hashes to %s", want, got)
	}
	blobs[want.Hex] = data
	return nil
}
