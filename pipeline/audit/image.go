package audit

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/inflate"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/sentientos/reliquary/internal/safepath"
)

// Limits on what the image check reads.
const (
	MaxImageSize    = 8 << 30   // bytes of one layout tarball, and of one image's layers uncompressed
	MaxImageEntries = 1_000_000 // entries of the layout tarball, and of one image's layers
	maxIndexDepth   = 4
)

// OCI label keys the images must carry (OCI image spec, annotations.md).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
)

// Image is what the audit read from one OCI image layout tarball.
type Image struct {
	Path      string          `json:"path"`  // bundle path
	Index     string          `json:"index"` // digest of the layout's top index
	Manifests []ImageManifest `json:"manifests"`
}

// ImageManifest is one platform's image.
type ImageManifest struct {
	Platform string            `json:"platform"`
	Digest   string            `json:"digest"`
	User     string            `json:"user"`
	Labels   map[string]string `json:"labels"` // the OCI labels above, when set
	Layers   int               `json:"layers"`
}

type imageWant struct {
	commit, source, version string
	created                 time.Time
}

// auditImage reads the layout tarball at path (bundle path name) and checks every image in it.
func auditImage(r *Report, path, name string, want imageWant) {
	fail := func(err error) {
		r.add(Finding{Severity: Medium, Check: "image", Subject: name, Message: "not checked: " + err.Error()})
	}
	dir, err := os.MkdirTemp("", "reliquary-audit-image-")
	if err != nil {
		fail(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := extractLayout(path, dir); err != nil {
		fail(fmt.Errorf("not a readable OCI layout tarball: %w", err))
		return
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		fail(fmt.Errorf("not an OCI image layout: %w", err))
		return
	}
	img := Image{Path: name}
	if d, err := idx.Digest(); err == nil {
		img.Index = d.String()
	}
	if err := walkIndex(r, idx, &img, want, 0); err != nil {
		fail(err)
	}
	if len(img.Manifests) == 0 {
		fail(errors.New("the layout holds no image"))
		return
	}
	r.Images = append(r.Images, img)
}

// walkIndex checks every image an index reaches, through nested indexes.
func walkIndex(r *Report, idx v1.ImageIndex, img *Image, want imageWant, depth int) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("indexes nested deeper than %d", maxIndexDepth)
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
			if err := walkIndex(r, child, img, want, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			one, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			m, err := auditOneImage(r, img.Path, one, want)
			if err != nil {
				return fmt.Errorf("image %s: %w", d.Digest, err)
			}
			m.Digest = d.Digest.String()
			img.Manifests = append(img.Manifests, m)
		}
	}
	return nil
}

func auditOneImage(r *Report, name string, img v1.Image, want imageWant) (ImageManifest, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageManifest{}, err
	}
	plat := cf.OS + "/" + cf.Architecture
	if cf.Variant != "" {
		plat += "/" + cf.Variant
	}
	subject := fmt.Sprintf("%s (%s)", name, plat)
	before := len(r.Findings)
	m := ImageManifest{Platform: plat, User: cf.Config.User, Labels: ociLabels(cf.Config.Labels)}
	checkUser(r, subject, cf.Config.User)
	checkLabels(r, subject, cf, want)
	layers, err := img.Layers()
	if err != nil {
		return m, err
	}
	m.Layers = len(layers)
	if err := auditLayers(r, subject, layers); err != nil {
		return m, err
	}
	if len(r.Findings) == before {
		r.ok("image %s: runs as %s; %d layer(s) without setuid, setgid, world-writable or device files, or private keys", subject, cf.Config.User, len(layers))
	}
	return m, nil
}

func ociLabels(all map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{LabelSource, LabelRevision, LabelVersion, LabelCreated} {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// checkUser requires a non-root user. A user given by name other than root cannot be
// resolved without the image's /etc/passwd, so it is reported as low.
func checkUser(r *Report, subject, user string) {
	uid, _, _ := strings.Cut(user, ":")
	switch {
	case uid == "":
		r.add(Finding{Severity: High, Check: "image", Subject: subject, Message: "runs as root: the image sets no user (set one, e.g. 65532:65532)"})
	case uid == "0" || uid == "root":
		r.add(Finding{Severity: High, Check: "image", Subject: subject, Message: fmt.Sprintf("runs as root (user %q)", user)})
	case strings.Trim(uid, "0123456789") != "":
		r.add(Finding{Severity: Low, Check: "image", Subject: subject, Message: fmt.Sprintf("runs as user %q, a name whose uid this audit cannot resolve: prefer a numeric uid", user)})
	}
}

// checkLabels requires the OCI labels, with the release's values, and created (label and
// config) equal to the commit time.
func checkLabels(r *Report, subject string, cf *v1.ConfigFile, want imageWant) {
	labels := cf.Config.Labels
	for _, k := range []string{LabelSource, LabelRevision, LabelVersion, LabelCreated} {
		if labels[k] == "" {
			r.add(Finding{Severity: Medium, Check: "image", Subject: subject, Message: "lacks the label " + k})
		}
	}
	mismatch := func(k, got, wantV string) {
		if got != "" && wantV != "" && got != wantV {
			r.add(Finding{Severity: Medium, Check: "image", Subject: subject, Message: fmt.Sprintf("label %s is %q, the release's is %q", k, got, wantV)})
		}
	}
	mismatch(LabelRevision, labels[LabelRevision], want.commit)
	mismatch(LabelVersion, labels[LabelVersion], want.version)
	mismatch(LabelSource, labels[LabelSource], want.source)
	if want.created.IsZero() {
		return
	}
	if c := labels[LabelCreated]; c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil || !t.Equal(want.created) {
			r.add(Finding{Severity: Medium, Check: "image", Subject: subject, Message: fmt.Sprintf("label %s is %q, not the commit time %s", LabelCreated, c, want.created.UTC().Format(time.RFC3339))})
		}
	}
	if !cf.Created.Time.Equal(want.created) {
		r.add(Finding{Severity: Medium, Check: "image", Subject: subject, Message: fmt.Sprintf("config created is %s, not the commit time %s", cf.Created.Time.UTC().Format(time.RFC3339), want.created.UTC().Format(time.RFC3339))})
	}
}

// auditLayers reads every layer's files: modes, device files and private key material.
func auditLayers(r *Report, subject string, layers []v1.Layer) error {
	budget := &budget{bytes: MaxImageSize, entries: MaxImageEntries}
	for i, l := range layers {
		rc, err := inflate.Layer(l)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		err = auditLayer(r, subject, rc, budget)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return nil
}

func auditLayer(r *Report, subject string, rd io.Reader, b *budget) error {
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.take(h.Size); err != nil {
			return err
		}
		where := subject + ": /" + strings.TrimPrefix(h.Name, "./")
		mode := h.FileInfo().Mode()
		if mode&fs.ModeSymlink == 0 { // links are 0777 by convention and carry no permission
			r.add(entryFindings("image", where, mode)...)
		}
		if h.Typeflag == tar.TypeReg {
			if found, err := ContainsPrivateKey(tr); err != nil {
				return err
			} else if found {
				r.add(keyFinding("image", where))
			}
		}
	}
}

// budget bounds what one check reads, whatever the archive claims.
type budget struct{ bytes, entries int64 }

func (b *budget) take(size int64) error {
	b.entries--
	b.bytes -= size
	if size < 0 || b.bytes < 0 || b.entries < 0 {
		return fmt.Errorf("over the audit's limits (%d entries, %d bytes)", MaxImageEntries, int64(MaxImageSize))
	}
	return nil
}

// extractLayout unpacks an OCI layout tarball into dir for go-containerregistry: regular
// files and directories only, with safe names, within the limits.
func extractLayout(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	b := &budget{bytes: MaxImageSize, entries: MaxImageEntries}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.take(h.Size); err != nil {
			return err
		}
		if err := extractOne(tr, h, dir); err != nil {
			return err
		}
	}
}

func extractOne(r io.Reader, h *tar.Header, dir string) error {
	rel := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
	if rel == "" || rel == "." {
		return nil
	}
	if err := safepath.Check(rel); err != nil {
		return err
	}
	target := filepath.Join(dir, filepath.FromSlash(rel))
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return fmt.Errorf("%s: entry type %q does not belong in an image layout", h.Name, h.Typeflag)
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
