package publish

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// existing maps the statement of every Sigstore bundle referrer of subject that verifies
// with the publisher's key to that referrer's digest. Referrers that do not verify are
// ignored here (they are not ours; cosign skips them too).
func (p *publisher) existing(subject v1.Descriptor) (map[string]v1.Hash, error) {
	return signedReferrers(p.in.Target.Repo.Digest(subject.Digest.String()), p.tk, p.opts)
}

func signedReferrers(d name.Digest, tk *trust.Keys, opts []remote.Option) (map[string]v1.Hash, error) {
	idx, err := remote.Referrers(d, append(opts, remote.WithFilter("artifactType", SigstoreBundleType))...)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Hash{}
	for _, m := range im.Manifests {
		if st, ok := bundleStatement(d.Context().Digest(m.Digest.String()), tk, opts); ok {
			out[string(st)] = m.Digest
		}
	}
	return out, nil
}

// bundleStatement fetches a one-layer Sigstore bundle referrer and returns its statement
// when the bundle verifies with tk.
func bundleStatement(d name.Digest, tk *trust.Keys, opts []remote.Option) ([]byte, bool) {
	img, err := remote.Image(d, opts...)
	if err != nil {
		return nil, false
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		return nil, false
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, trust.MaxBundleSize+1))
	if err != nil {
		return nil, false
	}
	st, _, err := tk.VerifyDSSE(data, sign.InTotoPayloadType)
	return st, err == nil
}

// ensureListed makes sure the referrers of subject list the manifest m, which the
// destination holds. go-containerregistry records a referrer under the fallback tag
// (sha256-HEX) when it writes the manifest, but skips a manifest the registry already has:
// a run cut between the two would leave the referrer unlisted, and cosign blind to it.
func ensureListed(subject name.Digest, m name.Digest, opts []remote.Option) error {
	idx, err := remote.Referrers(subject, opts...)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.Digest.String() == m.DigestStr() {
			return nil
		}
	}
	got, err := remote.Get(m, opts...)
	if err != nil {
		return err
	}
	var om ociManifest
	if err := json.Unmarshal(got.Manifest, &om); err != nil {
		return err
	}
	d := got.Descriptor
	d.ArtifactType, d.Annotations = om.ArtifactType, om.Annotations
	if d.ArtifactType == "" {
		d.ArtifactType = string(om.Config.MediaType)
	}
	im.SchemaVersion, im.MediaType = 2, types.OCIImageIndex
	im.Manifests = append(im.Manifests, d)
	raw, err := json.Marshal(im)
	if err != nil {
		return err
	}
	tag := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
	return remote.Put(tag, rawIndex(raw), opts...)
}

// rawIndex is an image index's bytes, for remote.Put.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }
