package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/sbom"
)

// SBOM is one binary's SBOM as written under OutDir/sboms/.
type SBOM struct {
	Path     string   `json:"path"` // bundle path, sboms/NAME_OS_ARCH.cdx.json
	Binary   string   `json:"binary"`
	Platform string   `json:"platform"`
	SHA256   string   `json:"sha256"`   // of the SBOM file
	Subjects []string `json:"subjects"` // bundle paths of the artifacts that ship the binary
}

// writeSBOMs writes one SBOM per binary, from the build info of the binary just built and
// cross-checked against the lock, with the archive and image that ship it as subjects. It
// runs after packing, so the subjects' digests are final.
func (r *runner) writeSBOMs(bins []built) error {
	inImage, err := r.imageMembers(bins)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r.out.OutDir, sbom.Dir), 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	for _, b := range bins {
		s, err := r.writeSBOM(b, r.subjectsOf(b, inImage))
		if err != nil {
			return err
		}
		r.out.SBOMs = append(r.out.SBOMs, s)
	}
	sort.Slice(r.out.SBOMs, func(i, j int) bool { return r.out.SBOMs[i].Path < r.out.SBOMs[j].Path })
	return nil
}

// imageMembers are the platform/binary pairs the image holds (none when no image was built).
func (r *runner) imageMembers(bins []built) (map[string]bool, error) {
	members := map[string]bool{}
	if r.out.Image == nil {
		return members, nil
	}
	platforms, _, err := r.imageBinaries(bins)
	if err != nil {
		return nil, err
	}
	for _, p := range platforms {
		for _, b := range p.Binaries {
			members[p.Platform+" "+b.Name] = true
		}
	}
	return members, nil
}

// subjectsOf are the artifacts that contain b: its platform's archive and, when it is in the
// image, the image.
func (r *runner) subjectsOf(b built, inImage map[string]bool) []sbom.Subject {
	var out []sbom.Subject
	for _, a := range r.out.Artifacts {
		if (a.Kind == artifact.KindArchive && a.Platform == b.platform.String()) ||
			(a.Kind == artifact.KindImage && inImage[b.platform.String()+" "+b.target.Binary]) {
			out = append(out, sbom.Subject{Path: a.Path, SHA256: a.Digest.SHA256})
		}
	}
	return out
}

func (r *runner) writeSBOM(b built, subjects []sbom.Subject) (SBOM, error) {
	data, err := os.ReadFile(b.path)
	if err != nil {
		return SBOM{}, fmt.Errorf("build: %w", err)
	}
	bi, err := sbom.BuildInfo(b.name, bytes.NewReader(data))
	if err != nil {
		return SBOM{}, fmt.Errorf("build: %w", err)
	}
	bom, err := sbom.Generate(sbom.Input{
		Name: b.name, Platform: b.platform.String(), Version: r.version, SHA256: hex.EncodeToString(sha256Of(data)),
		Time: r.time, Info: bi, Lock: r.s.lock, Subjects: subjects,
	})
	if err != nil {
		return SBOM{}, fmt.Errorf("build: %w", err)
	}
	out, err := sbom.Marshal(bom)
	if err != nil {
		return SBOM{}, fmt.Errorf("build: %w", err)
	}
	p := sbom.FileName(b.name, b.platform.String())
	if err := atomicfile.Write(filepath.Join(r.out.OutDir, filepath.FromSlash(p)), 0o644, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	}); err != nil {
		return SBOM{}, fmt.Errorf("build: %w", err)
	}
	s := SBOM{Path: p, Binary: b.name, Platform: b.platform.String(), SHA256: hex.EncodeToString(sha256Of(out))}
	for _, sub := range subjects {
		s.Subjects = append(s.Subjects, sub.Path)
	}
	return s, nil
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// Products are every file the build wrote: the artifacts and the SBOMs (as metadata), for
// the build step's record.
func (o *Output) Products() artifact.List {
	out := append(artifact.List(nil), o.Artifacts...)
	for _, s := range o.SBOMs {
		out = append(out, artifact.Artifact{Path: s.Path, Kind: artifact.KindMetadata, MediaType: sbom.MediaType,
			Digest: artifact.Digests{SHA256: s.SHA256}})
	}
	return out
}
