package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ErrGate: the bundle did not pass the gate, so nothing was pushed.
var ErrGate = errors.New("the release did not pass the gate; nothing was pushed")

// ErrPush: the registry refused or lost a push. The error names what was pushed before.
var ErrPush = errors.New("push")

// Input is what Publish needs.
type Input struct {
	Dir     string
	Target  Target // the repository; a tag, if any, is ignored: tags come from the version
	Key     *keys.PrivateKey
	Trusted []*keys.PublicKey // the gate's keys; nil: the signing key's public half
	Remote  Remote
}

// Pushed is one thing Publish or Replicate handled, by digest.
type Pushed struct {
	What   string `json:"what"` // "image", "signature", "provenance", "bundle", "tag VERSION", ...
	Digest string `json:"digest"`
	Status string `json:"status"` // "pushed", "copied", "already there"
}

// Result is what a publish pushed.
type Result struct {
	Repository string         `json:"repository"`
	Version    string         `json:"version"`
	Image      string         `json:"image"`  // sha256:... of the image index
	Bundle     string         `json:"bundle"` // sha256:... of the release bundle artifact
	Items      []Pushed       `json:"pushed"`
	Report     *verify.Report `json:"-"`
}

func (r *Result) add(what string, d v1.Hash, status string) {
	r.Items = append(r.Items, Pushed{What: what, Digest: d.String(), Status: status})
}

// stopped wraps a push error with what had been pushed, so an interrupted run says where
// it stopped; the rerun pushes the rest.
func (r *Result) stopped(what string, err error) error {
	var done []string
	for _, p := range r.Items {
		done = append(done, p.What+" "+p.Digest)
	}
	had := "nothing"
	if len(done) > 0 {
		had = strings.Join(done, ", ")
	}
	return fmt.Errorf("%w: %s to %s: %w (pushed before: %s; rerun to finish)", ErrPush, what, r.Repository, err, had)
}

// Publish runs the gate on in.Dir and, when it passes, pushes the release to in.Target.
func Publish(ctx context.Context, in Input) (*Result, error) {
	if in.Key == nil {
		return nil, fmt.Errorf("publish: no signing key")
	}
	trusted := in.Trusted
	if len(trusted) == 0 {
		trusted = []*keys.PublicKey{in.Key.PublicKey()}
	}
	report, err := verify.Run(ctx, in.Dir, verify.WithKeys(trusted...))
	if err != nil {
		return nil, err
	}
	res := &Result{Repository: in.Target.Repo.Name(), Version: report.Version, Report: report}
	if !report.Verified {
		return res, fmt.Errorf("%s: %w", in.Dir, ErrGate)
	}
	p, err := newPublisher(ctx, in, res)
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(p.tmp)
	return res, p.run()
}

type publisher struct {
	ctx   context.Context
	in    Input
	res   *Result
	opts  []remote.Option
	tmp   string
	tk    *trust.Keys
	image string // bundle path of the image layout tarball
}

func newPublisher(ctx context.Context, in Input, res *Result) (*publisher, error) {
	img, err := imageArtifact(res.Report.Artifacts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Dir, err)
	}
	tk, err := trust.NewKeys(in.Key.PublicKey())
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "reliquary-publish-")
	if err != nil {
		return nil, err
	}
	return &publisher{ctx: ctx, in: in, res: res, opts: in.Remote.options(ctx), tmp: tmp, tk: tk, image: img}, nil
}

// imageArtifact is the one image layout of a release.
func imageArtifact(l artifact.List) (string, error) {
	imgs := l.Filter(func(a artifact.Artifact) bool { return a.Kind == artifact.KindImage })
	if len(imgs) != 1 {
		return "", fmt.Errorf("publish needs exactly one image artifact (*.oci.tar), the release has %d", len(imgs))
	}
	return imgs[0].Path, nil
}

// run pushes by digest first, tags last (see the package doc).
func (p *publisher) run() error {
	repo := p.in.Target.Repo
	if err := extractLayout(filepath.Join(p.in.Dir, filepath.FromSlash(p.image)), p.tmp); err != nil {
		return err
	}
	idx, desc, err := layoutIndex(p.tmp, p.image)
	if err != nil {
		return err
	}
	p.res.Image = desc.Digest.String()
	b, err := p.bundleArtifact(desc)
	if err != nil {
		return err
	}
	bd, err := b.Digest()
	if err != nil {
		return err
	}
	p.res.Bundle = bd.String()
	for tag, d := range map[string]v1.Hash{p.res.Version: desc.Digest, BundleTag(p.res.Version): bd} {
		if err := tagFree(repo.Tag(tag), d, p.opts); err != nil {
			return err
		}
	}
	status := p.status(repo.Digest(desc.Digest.String()), "pushed")
	if err := remote.WriteIndex(repo.Digest(desc.Digest.String()), idx, p.opts...); err != nil {
		return p.res.stopped("image "+desc.Digest.String(), err)
	}
	p.res.add("image", desc.Digest, status)
	if err := p.signatures(desc); err != nil {
		return err
	}
	if err := p.push("bundle", b); err != nil {
		return err
	}
	if err := p.tag(p.res.Version, idx, desc.Digest); err != nil {
		return err
	}
	bimg, _ := b.image()
	return p.tag(BundleTag(p.res.Version), bimg, bd)
}

// ErrTagTaken: a version tag in the registry already names something else. Tags of a
// release are never moved: a version is published once.
var ErrTagTaken = errors.New("tag already names another release")

// tagFree fails with ErrTagTaken unless tag is absent or already names d.
func tagFree(tag name.Tag, d v1.Hash, opts []remote.Option) error {
	got, err := remote.Head(tag, opts...)
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return nil
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%s: the registry refused the credentials (%d %s): check the user and password (docker config, RELIQUARY_REGISTRY_USERNAME/PASSWORD, --registry-password-file)",
			tag, terr.StatusCode, http.StatusText(terr.StatusCode))
	case err != nil:
		return fmt.Errorf("%s: %w", tag, err)
	case got.Digest != d:
		return fmt.Errorf("%s: %w: it names %s, this release is %s; publish a new version instead", tag, ErrTagTaken, got.Digest, d)
	}
	return nil
}

// status is "already there" when the registry has ref, else fresh.
func (p *publisher) status(ref name.Digest, fresh string) string {
	if _, err := remote.Head(ref, p.opts...); err == nil {
		return "already there"
	}
	return fresh
}

func (p *publisher) push(what string, a *ociArtifact) error {
	d, err := a.Digest()
	if err != nil {
		return err
	}
	img, err := a.image()
	if err != nil {
		return err
	}
	ref := p.in.Target.Repo.Digest(d.String())
	status := p.status(ref, "pushed")
	if err := remote.Write(ref, img, p.opts...); err != nil {
		return p.res.stopped(what+" "+d.String(), err)
	}
	if err := ensureListed(p.in.Target.Repo.Digest(p.res.Image), ref, p.opts); err != nil {
		return p.res.stopped(what+" "+d.String()+" (referrers list)", err)
	}
	p.res.add(what, d, status)
	return nil
}

func (p *publisher) tag(tag string, t remote.Taggable, d v1.Hash) error {
	ref := p.in.Target.Repo.Tag(tag)
	status := "pushed"
	if got, err := remote.Head(ref, p.opts...); err == nil && got.Digest == d {
		status = "already there"
	}
	if err := remote.Tag(ref, t, p.opts...); err != nil {
		return p.res.stopped("tag "+tag, err)
	}
	p.res.add("tag "+tag, d, status)
	return nil
}

// bundleArtifact is the release bundle as one artifact, one layer per file in path order.
func (p *publisher) bundleArtifact(subject v1.Descriptor) (*ociArtifact, error) {
	b, err := bundle.Open(p.in.Dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	inv, err := b.Inventory()
	if err != nil {
		return nil, err
	}
	var layers []v1.Layer
	var anns []map[string]string
	for _, e := range inv {
		fl, err := newFileLayer(filepath.Join(p.in.Dir, filepath.FromSlash(e.Path)))
		if err != nil {
			return nil, err
		}
		l, err := fl.asLayer()
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
		anns = append(anns, map[string]string{titleAnnotation: e.Path})
	}
	ann := map[string]string{versionAnnotation: p.res.Version, "dev.reliquary.project": p.res.Report.Project}
	return newArtifact(ArtifactType, layers, anns, subject, ann)
}

// signatures pushes the image signature and provenance referrers, unless the registry
// already holds ones with the same statement signed by this key (a signature is not
// deterministic, so a rerun would otherwise add another).
func (p *publisher) signatures(subject v1.Descriptor) error {
	sig, err := signStatement(subject.Digest)
	if err != nil {
		return err
	}
	stmts := []struct {
		what, predicateType string
		st                  []byte
	}{{"signature", SignPredicateType, sig}}
	if prov, ok, err := p.releaseProvenance(); err != nil {
		return err
	} else if ok {
		st, err := provenanceStatement(prov, subject.Digest)
		if err != nil {
			return fmt.Errorf("%s: %w", bundle.ProvenanceFile, err)
		}
		stmts = append(stmts, struct {
			what, predicateType string
			st                  []byte
		}{"provenance", SLSAPredicateType, st})
	}
	have, err := p.existing(subject)
	if err != nil {
		return p.res.stopped("referrers of "+subject.Digest.String(), err)
	}
	for _, s := range stmts {
		if d, ok := have[string(s.st)]; ok {
			p.res.add(s.what, d, "already there")
			continue
		}
		bj, err := sign.DSSE(s.st, sign.InTotoPayloadType, p.in.Key)
		if err != nil {
			return err
		}
		a, err := newArtifact(SigstoreBundleType, []v1.Layer{static.NewLayer(bj, SigstoreBundleType)}, []map[string]string{nil}, subject,
			map[string]string{bundleContentAnnotation: "dsse-envelope", predicateTypeAnnotation: s.predicateType})
		if err != nil {
			return err
		}
		if err := p.push(s.what, a); err != nil {
			return err
		}
	}
	return nil
}

// releaseProvenance is the verified statement of the release's provenance, if it has one.
func (p *publisher) releaseProvenance() ([]byte, bool, error) {
	data, err := os.ReadFile(filepath.Join(p.in.Dir, bundle.ProvenanceFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st, _, err := p.tk.VerifyDSSE(data, sign.InTotoPayloadType)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", bundle.ProvenanceFile, err)
	}
	return st, true, nil
}
