package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ReplicateInput is what Replicate needs: a published release, a destination repository
// and the gate's options (the trusted keys, an expected version).
type ReplicateInput struct {
	From     Target // with the version tag
	To       Target // a tag, if any, is ignored: the version's tags are copied
	FromAuth Remote
	ToAuth   Remote
	Trusted  []*keys.PublicKey
	Gate     []verify.Option // more gate options (an expected version)
}

// Replication is what Replicate found and did.
type Replication struct {
	Source      *verify.Report `json:"-"`
	Destination *verify.Report `json:"-"`
	Image       string         `json:"image"`
	Bundle      string         `json:"bundle"`
	Items       []Pushed       `json:"copied"`
}

// ErrSourceGate: the release at the source does not verify, so nothing was copied.
var ErrSourceGate = errors.New("the release at the source did not pass the gate; nothing was copied")

// Replicate verifies the release at in.From, copies it by digest to in.To (image index and
// everything below it, every referrer of the index, the bundle artifact last), then its
// tags (VERSION-bundle last), and verifies it there. Nothing is tagged before everything
// it names is present, so a copy killed at any moment leaves no VERSION-bundle tag and
// nothing that verifies; a rerun copies what is missing.
func Replicate(ctx context.Context, in ReplicateInput) (*Replication, error) {
	rep := &Replication{}
	src, loc, err := Verify(ctx, in.From, in.FromAuth, in.Trusted, in.Gate...)
	if err != nil {
		return rep, err
	}
	rep.Source, rep.Image, rep.Bundle = src, loc.Image.Digest.String(), loc.Bundle.DigestStr()
	if !src.Verified {
		return rep, fmt.Errorf("%s: %w", in.From, ErrSourceGate)
	}
	c := copier{rep: rep, from: in.From.Repo, to: in.To.Repo, fromOpts: in.FromAuth.options(ctx), toOpts: in.ToAuth.options(ctx)}
	bh, err := v1.NewHash(loc.Bundle.DigestStr())
	if err != nil {
		return rep, err
	}
	for tag, d := range map[string]v1.Hash{in.From.Tag: loc.Image.Digest, BundleTag(in.From.Tag): bh} {
		if err := tagFree(in.To.Repo.Tag(tag), d, c.toOpts); err != nil {
			return rep, err
		}
	}
	if err := c.index(loc.Image.Digest); err != nil {
		return rep, err
	}
	if err := c.referrers(loc.Image.Digest, loc.Bundle); err != nil {
		return rep, err
	}
	if err := c.manifest("bundle", bh); err != nil {
		return rep, err
	}
	if err := c.tag(in.From.Tag, loc.Image.Digest); err != nil {
		return rep, err
	}
	if err := c.tag(BundleTag(in.From.Tag), bh); err != nil {
		return rep, err
	}
	dst, _, err := Verify(ctx, Target{Repo: in.To.Repo, Tag: in.From.Tag}, in.ToAuth, in.Trusted, in.Gate...)
	rep.Destination = dst
	return rep, err
}

type copier struct {
	rep              *Replication
	from, to         name.Repository
	fromOpts, toOpts []remote.Option
}

func (c *copier) record(what string, d v1.Hash, status string) {
	c.rep.Items = append(c.rep.Items, Pushed{What: what, Digest: d.String(), Status: status})
}

func (c *copier) stopped(what string, d v1.Hash, err error) error {
	r := Result{Repository: c.to.Name(), Items: c.rep.Items}
	return r.stopped(what+" "+d.String(), err)
}

func (c *copier) present(d v1.Hash) bool {
	_, err := remote.Head(c.to.Digest(d.String()), c.toOpts...)
	return err == nil
}

// index copies the image index and every manifest and blob below it; go-containerregistry
// skips the blobs and manifests the destination has.
func (c *copier) index(d v1.Hash) error {
	if c.present(d) {
		c.record("image", d, "already there")
		return nil
	}
	idx, err := remote.Index(c.from.Digest(d.String()), c.fromOpts...)
	if err != nil {
		return fmt.Errorf("%s@%s: %w", c.from.Name(), d, err)
	}
	if err := remote.WriteIndex(c.to.Digest(d.String()), idx, c.toOpts...); err != nil {
		return c.stopped("image", d, err)
	}
	c.record("image", d, "copied")
	return nil
}

// referrers copies every referrer of the index except the bundle artifact, which goes last.
func (c *copier) referrers(d v1.Hash, bundle name.Digest) error {
	idx, err := remote.Referrers(c.from.Digest(d.String()), c.fromOpts...)
	if err != nil {
		return fmt.Errorf("referrers of %s@%s: %w", c.from.Name(), d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		if m.Digest.String() == bundle.DigestStr() {
			continue
		}
		if err := c.manifest(referrerName(m), m.Digest); err != nil {
			return err
		}
	}
	return nil
}

// manifest copies one referrer of the image index by digest and makes sure the
// destination lists it as one.
func (c *copier) manifest(what string, d v1.Hash) error {
	status := "copied"
	if c.present(d) {
		status = "already there"
	}
	img, err := remote.Image(c.from.Digest(d.String()), c.fromOpts...)
	if err != nil {
		return fmt.Errorf("%s %s@%s: %w", what, c.from.Name(), d, err)
	}
	if err := remote.Write(c.to.Digest(d.String()), img, c.toOpts...); err != nil {
		return c.stopped(what, d, err)
	}
	if err := ensureListed(c.to.Digest(c.rep.Image), c.to.Digest(d.String()), c.toOpts); err != nil {
		return c.stopped(what+" (referrers list)", d, err)
	}
	c.record(what, d, status)
	return nil
}

func (c *copier) tag(tag string, d v1.Hash) error {
	desc, err := remote.Get(c.to.Digest(d.String()), c.toOpts...)
	if err != nil {
		return c.stopped("tag "+tag, d, err)
	}
	status := "copied"
	if got, err := remote.Head(c.to.Tag(tag), c.toOpts...); err == nil && got.Digest == d {
		status = "already there"
	}
	if err := remote.Tag(c.to.Tag(tag), desc, c.toOpts...); err != nil {
		return c.stopped("tag "+tag, d, err)
	}
	c.record("tag "+tag, d, status)
	return nil
}

// referrerName says what a referrer is, for the report.
func referrerName(d v1.Descriptor) string {
	switch d.Annotations[predicateTypeAnnotation] {
	case SignPredicateType:
		return "signature"
	case SLSAPredicateType:
		return "provenance"
	}
	return "referrer " + d.ArtifactType
}
