package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// ErrRegistry: what the registry holds is not a complete, intact release (a missing tag, a
// bundle artifact for another image, a blob whose bytes do not match its digest). A gate
// failure, not an input error.
var ErrRegistry = errors.New("registry")

// MaxBundleFiles bounds the layers of a release bundle artifact read from a registry.
const MaxBundleFiles = 100_000

// Located is a release found in a registry: the image index the version tag names and the
// release bundle artifact the VERSION-bundle tag names.
type Located struct {
	Image  v1.Descriptor
	Bundle name.Digest
	Files  []File
}

// File is one bundle file as the bundle artifact lists it.
type File struct {
	Path   string
	Digest v1.Hash
	Size   int64
}

// Locate resolves t (which must carry a version tag) to its image and bundle artifact, and
// checks that the bundle artifact belongs to the image.
func Locate(ctx context.Context, t Target, r Remote) (*Located, error) {
	if t.Tag == "" {
		return nil, fmt.Errorf("%w %s: name the version (oci://HOST/REPO:VERSION)", ErrTarget, t)
	}
	opts := r.options(ctx)
	img, err := remote.Head(t.Repo.Tag(t.Tag), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: image tag %s: %w", t, t.Tag, err)
	}
	bref := t.Repo.Tag(BundleTag(t.Tag))
	desc, err := remote.Get(bref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: release bundle tag %s: %w", t, BundleTag(t.Tag), err)
	}
	files, subject, err := parseBundleManifest(desc.Manifest)
	if err != nil {
		return nil, fmt.Errorf("%w: %s@%s: %w", ErrRegistry, t.Repo.Name(), desc.Digest, err)
	}
	if subject != img.Digest {
		return nil, fmt.Errorf("%w: %s: tag %s names image %s but tag %s names the bundle of image %s (a tag was moved)",
			ErrRegistry, t, t.Tag, img.Digest, BundleTag(t.Tag), subject)
	}
	return &Located{Image: v1.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size},
		Bundle: t.Repo.Digest(desc.Digest.String()), Files: files}, nil
}

// parseBundleManifest reads a release bundle artifact's manifest: its files (paths checked,
// no duplicates) and its subject. Nothing in it is trusted beyond that: the files are
// checked by the gate once downloaded.
func parseBundleManifest(raw []byte) ([]File, v1.Hash, error) {
	var m ociManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, v1.Hash{}, fmt.Errorf("bundle artifact manifest: %w", err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, v1.Hash{}, fmt.Errorf("bundle artifact: artifactType %q, want %q", m.ArtifactType, ArtifactType)
	}
	if m.Subject == nil {
		return nil, v1.Hash{}, errors.New("bundle artifact: no subject image")
	}
	if len(m.Layers) > MaxBundleFiles {
		return nil, v1.Hash{}, fmt.Errorf("bundle artifact: %d files, more than %d", len(m.Layers), MaxBundleFiles)
	}
	seen := map[string]bool{}
	var files []File
	for _, l := range m.Layers {
		p := l.Annotations[titleAnnotation]
		if err := safepath.Check(p); err != nil {
			return nil, v1.Hash{}, fmt.Errorf("bundle artifact: layer %s: file name %q: %w", l.Digest, p, err)
		}
		if seen[p] {
			return nil, v1.Hash{}, fmt.Errorf("bundle artifact: file %s listed twice", p)
		}
		if l.Digest.Algorithm != "sha256" || len(l.Digest.Hex) != 64 || l.Size < 0 {
			return nil, v1.Hash{}, fmt.Errorf("bundle artifact: file %s: digest %q is not sha256", p, l.Digest)
		}
		seen[p] = true
		files = append(files, File{Path: p, Digest: l.Digest, Size: l.Size})
	}
	return files, m.Subject.Digest, nil
}

// Pull downloads the release bundle files into dir (which must be empty), each checked
// against its digest as it is read; a file whose bytes differ is an ErrRegistry naming it.
func Pull(ctx context.Context, loc *Located, dir string, r Remote) error {
	opts := r.options(ctx)
	for _, f := range loc.Files {
		l, err := remote.Layer(loc.Bundle.Context().Digest(f.Digest.String()), opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		err = bundle.Write(dir, f.Path, func(w io.Writer) error {
			rc, err := l.Compressed()
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(w, rc)
			return err
		})
		if err != nil {
			return classify(fmt.Errorf("%s (blob %s): %w", f.Path, f.Digest, err))
		}
	}
	return nil
}

// classify turns a digest or size mismatch that go-containerregistry reports while reading
// a blob into ErrRegistry: the registry served other bytes than the digest names.
func classify(err error) error {
	for _, needle := range []string{"error verifying sha256 checksum", "error verifying size"} {
		if strings.Contains(err.Error(), needle) {
			return fmt.Errorf("%w: %w", ErrRegistry, err)
		}
	}
	return err
}

// imageCheck is the gate's check of the registry: the image index the version tag names is
// the one in the release's signed OCI layout, and every blob below it in the registry has
// the bytes its digest says.
type imageCheck struct {
	loc  *Located
	repo name.Repository
	opts []remote.Option
	tk   *trust.Keys
}

func (imageCheck) Name() string { return "registry" }

func (c imageCheck) Run(_ context.Context, s *verify.Session) {
	file := "oci://" + c.repo.Name() + "@" + c.loc.Image.Digest.String()
	fail := func(problem, expected, actual, msg string) {
		s.Add(verify.Finding{Check: c.Name(), File: file, Status: verify.Fail, Problem: problem, Expected: expected, Actual: actual, Message: msg})
	}
	if s.Manifest == nil {
		fail("no-manifest", "", "", "the release bundle has no usable manifest, so the image cannot be checked")
		return
	}
	img, err := imageArtifact(s.Manifest.Artifacts)
	if err != nil {
		fail("no-image", "", "", err.Error())
		return
	}
	want, err := indexDigestOf(filepath.Join(s.Bundle.Dir, filepath.FromSlash(img)))
	if err != nil {
		fail("image-layout", "", "", err.Error())
		return
	}
	if want.Digest != c.loc.Image.Digest {
		fail("image-digest-mismatch", want.Digest.String(), c.loc.Image.Digest.String(),
			fmt.Sprintf("the registry's image is not the release's (%s names index %s)", img, want.Digest))
		return
	}
	if err := c.blobs(want.Digest); err != nil {
		fail("image-blob", want.Digest.String(), "", "the image in the registry is incomplete or damaged: "+err.Error())
		return
	}
	if msg := c.referrers(s, want.Digest); msg != "" {
		fail("image-referrers", "", "", msg)
		return
	}
	s.Add(verify.Finding{Check: c.Name(), File: file, Status: verify.Pass, Message: "the registry's image is the release's, every blob intact, signed"})
}

// blobs reads every manifest and blob of the image index d from the registry;
// go-containerregistry checks each against its digest as it reads. The error names the
// first blob that is missing or has other bytes.
func (c imageCheck) blobs(d v1.Hash) error {
	idx, err := remote.Index(c.repo.Digest(d.String()), c.opts...)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		img, err := remote.Image(c.repo.Digest(m.Digest.String()), c.opts...)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", m.Digest, err)
		}
		mf, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("manifest %s: %w", m.Digest, err)
		}
		for _, b := range append([]v1.Descriptor{mf.Config}, mf.Layers...) {
			if err := c.readBlob(b.Digest); err != nil {
				return fmt.Errorf("blob %s of manifest %s: %w", b.Digest, m.Digest, err)
			}
		}
	}
	return nil
}

func (c imageCheck) readBlob(d v1.Hash) error {
	l, err := remote.Layer(c.repo.Digest(d.String()), c.opts...)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// referrers says what is missing among the image's signature and provenance referrers
// (those cosign verifies), or "".
func (c imageCheck) referrers(s *verify.Session, d v1.Hash) string {
	have, err := signedReferrers(c.repo.Digest(d.String()), c.tk, c.opts)
	if err != nil {
		return "cannot list the image's referrers: " + err.Error()
	}
	sig, err := signStatement(d)
	if err != nil {
		return err.Error()
	}
	if _, ok := have[string(sig)]; !ok {
		return "the image has no signature referrer signed by a trusted key (cosign verify would fail)"
	}
	data, err := s.Bundle.ReadFile(bundle.ProvenanceFile, trust.MaxBundleSize)
	if err != nil {
		return "" // an unattested release: the gate decides whether that is allowed
	}
	prov, _, err := c.tk.VerifyDSSE(data, sign.InTotoPayloadType)
	if err != nil {
		return "" // the gate reports it
	}
	st, err := provenanceStatement(prov, d)
	if err != nil {
		return err.Error()
	}
	if _, ok := have[string(st)]; !ok {
		return "the image has no SLSA provenance referrer signed by a trusted key (cosign verify-attestation would fail)"
	}
	return ""
}

// Verify locates the release at t, pulls its bundle into a temporary directory and runs the
// gate on it with the trusted keys and opts, plus the registry check of the image and its
// signature and provenance referrers. The release must be the version t's tag names.
func Verify(ctx context.Context, t Target, r Remote, trusted []*keys.PublicKey, opts ...verify.Option) (*verify.Report, *Located, error) {
	if len(trusted) == 0 {
		return nil, nil, verify.ErrNoTrustedKey
	}
	tk, err := trust.NewKeys(trusted...)
	if err != nil {
		return nil, nil, err
	}
	loc, err := Locate(ctx, t, r)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "reliquary-pull-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	if err := Pull(ctx, loc, tmp, r); err != nil {
		return nil, loc, err
	}
	// The tag the caller named is the version they expect: a tag moved to another validly
	// signed release fails here, as --expect-version would.
	opts = append([]verify.Option{verify.WithKeys(trusted...), verify.WithExpectedVersion(t.Tag, "")}, opts...)
	opts = append(opts, verify.WithCheck(imageCheck{loc: loc, repo: t.Repo, opts: r.options(ctx), tk: tk}))
	report, err := verify.Run(ctx, tmp, opts...)
	if report != nil {
		report.Bundle = loc.Bundle.String()
	}
	return report, loc, err
}
