// Package image builds an OCI image of a project's static binaries, one image per linux
// platform under a multi-platform index, and writes it as an OCI image layout tarball. It
// does what ko does, with go-containerregistry, so that the image's digest is reproducible:
// a rebuild of the same binaries at the same commit gives the same bytes.
//
// Contract: the binaries go in one layer, under /usr/local/bin, written by pipeline/archive
// (sorted entries, the commit time on every entry, uid/gid 0, mode 0755, so never a setuid
// bit) and compressed with a fixed gzip header. The image config's created time and the
// history entry are the commit time; the user is 65532:65532 (non-root); labels
// org.opencontainers.image.{source,revision,version,created} are set on each config and as
// annotations on the index. The base is scratch unless an OCI layout tarball is given, in
// which case it is read offline and its per-platform manifest digest recorded. The layout
// tarball holds oci-layout, index.json (one entry: the image index, named by RefName) and
// every blob, sorted.
package image

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/config"
)

// User is the non-root user and group the image runs as (distroless's "nonroot").
const User = "65532:65532"

// BinDir is where binaries go in the image.
const BinDir = "/usr/local/bin"

// Label and annotation keys (OCI image spec, annotations.md).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelRefName  = "org.opencontainers.image.ref.name"
	LabelBaseName = "org.opencontainers.image.base.name"
	LabelBaseDig  = "org.opencontainers.image.base.digest"
)

// Binary is one executable to put in the image.
type Binary struct {
	Name string // file name in BinDir
	Path string // the built file
}

// Platform is the binaries built for one platform, "linux/arch[/variant]".
type Platform struct {
	Platform string
	Binaries []Binary
}

// Input describes the image.
type Input struct {
	Platforms  []Platform // linux platforms only; one image each
	Entrypoint string     // the binary the image runs (one of Binaries)
	Time       time.Time  // the commit time
	Source     string     // repository URL (label)
	Revision   string     // commit (label)
	Version    string     // release version (label, and the ref name in index.json)
	Base       string     // OCI image layout tarball to build on; "" for scratch
	Out        string     // the .oci.tar file to write
}

// Output describes the written image.
type Output struct {
	Index     string     `json:"index"`     // digest of the image index (sha256:...)
	Manifests []Manifest `json:"manifests"` // one per platform, sorted by platform
	Base      string     `json:"base,omitempty"`
}

// Manifest is one platform's image.
type Manifest struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Base     string `json:"baseDigest,omitempty"` // the base image manifest it was built on
}

// Build builds the image and writes the layout tarball to in.Out.
func Build(ctx context.Context, in Input) (*Output, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	base, err := openBase(in.Base)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	out := &Output{Base: in.Base}
	var adds []mutate.IndexAddendum
	for _, p := range in.sortedPlatforms() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, m, err := buildOne(in, p, base)
		if err != nil {
			return nil, err
		}
		plat, _ := parsePlatform(p.Platform)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
		out.Manifests = append(out.Manifests, m)
	}
	idx = mutate.AppendManifests(idx, adds...)
	idx = mutate.Annotations(idx, in.labels()).(v1.ImageIndex)
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("image: index: %w", err)
	}
	out.Index = d.String()
	err = atomicfile.Write(in.Out, 0o644, func(w io.Writer) error {
		return writeLayout(w, idx, in.Version, in.Time)
	})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return out, nil
}

func (in Input) check() error {
	if len(in.Platforms) == 0 {
		return fmt.Errorf("image: no linux platform to build")
	}
	if !config.ValidName(in.Version) {
		return fmt.Errorf("image: version %q is not valid in a ref name", in.Version)
	}
	for _, p := range in.Platforms {
		plat, err := parsePlatform(p.Platform)
		if err != nil {
			return err
		}
		if plat.OS != "linux" {
			return fmt.Errorf("image: platform %s: images are built for linux only", p.Platform)
		}
		found := false
		for _, b := range p.Binaries {
			if !config.ValidName(b.Name) {
				return fmt.Errorf("image: binary name %q", b.Name)
			}
			found = found || b.Name == in.Entrypoint
		}
		if !found {
			return fmt.Errorf("image: platform %s: entrypoint %q is not among the binaries", p.Platform, in.Entrypoint)
		}
	}
	return nil
}

func (in Input) sortedPlatforms() []Platform {
	ps := append([]Platform(nil), in.Platforms...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Platform < ps[j].Platform })
	return ps
}

func (in Input) labels() map[string]string {
	l := map[string]string{
		LabelCreated:  in.Time.UTC().Format(time.RFC3339),
		LabelVersion:  in.Version,
		LabelRevision: in.Revision,
		LabelSource:   in.Source,
	}
	for k, v := range l {
		if v == "" {
			delete(l, k)
		}
	}
	return l
}

func parsePlatform(s string) (v1.Platform, error) {
	if err := config.CheckPlatform(s); err != nil {
		return v1.Platform{}, fmt.Errorf("image: platform: %w", err)
	}
	f := strings.Split(s, "/")
	p := v1.Platform{OS: f[0], Architecture: f[1]}
	if len(f) == 3 {
		p.Variant = f[2]
	}
	return p, nil
}

// buildOne builds one platform's image on the base.
func buildOne(in Input, p Platform, base *baseImages) (v1.Image, Manifest, error) {
	m := Manifest{Platform: p.Platform}
	plat, _ := parsePlatform(p.Platform)
	img, baseDigest, layerType, err := base.forPlatform(plat)
	if err != nil {
		return nil, m, err
	}
	m.Base = baseDigest
	layer, err := binaryLayer(p.Binaries, in.Time, layerType)
	if err != nil {
		return nil, m, fmt.Errorf("image: %s: %w", p.Platform, err)
	}
	img, err = configure(img, in, plat)
	if err != nil {
		return nil, m, fmt.Errorf("image: %s: %w", p.Platform, err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: in.Time.UTC()},
		CreatedBy: "reliquary build: " + strings.Join(binaryNames(p.Binaries), " ") + " -> " + BinDir,
	}})
	if err != nil {
		return nil, m, fmt.Errorf("image: %s: %w", p.Platform, err)
	}
	anns := in.labels()
	if baseDigest != "" {
		anns[LabelBaseDig] = baseDigest
	}
	img = mutate.Annotations(img, anns).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		return nil, m, fmt.Errorf("image: %s: %w", p.Platform, err)
	}
	m.Digest = d.String()
	return img, m, nil
}

func binaryNames(bs []Binary) []string {
	var n []string
	for _, b := range bs {
		n = append(n, b.Name)
	}
	sort.Strings(n)
	return n
}

// configure sets the platform, time, user, entrypoint and labels on a copy of the base's
// config. The base's environment and labels are kept; ours win on conflicts.
func configure(img v1.Image, in Input, plat v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: in.Time.UTC()}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{path.Join(BinDir, in.Entrypoint)}
	cf.Config.Cmd = nil
	if cf.Config.WorkingDir == "" {
		cf.Config.WorkingDir = "/"
	}
	if len(cf.Config.Env) == 0 {
		cf.Config.Env = []string{"PATH=" + BinDir + ":/usr/bin:/bin"}
	}
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range in.labels() {
		cf.Config.Labels[k] = v
	}
	return mutate.ConfigFile(img, cf)
}
