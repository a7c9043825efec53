package publish

import (
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

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
