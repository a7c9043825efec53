package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/image"
)

// MaxBinary bounds a binary read out of an archive or image to check its SBOM.
const MaxBinary = 1 << 30

// Release is what an SBOM is checked against: the bundle directory (whose artifacts the
// caller has verified against the manifest), the manifest's artifacts, and the frozen lock.
// The version is the one the SBOM states (the binary was stamped with it; a promoted
// release keeps its candidate's binaries), checked as part of the build settings.
type Release struct {
	Dir       string
	Artifacts artifact.List
	Lock      *freeze.Lock
	// Memo, when set, remembers the checks that passed (see Memo).
	Memo *Memo
}

// Memo remembers SBOM checks that passed. A release runs its gate twice over the same
// artifacts (once for the audit summary, once to seal the bundle), and checking an SBOM
// means inflating its binary out of every archive and image that ships it, most of a warm
// release's CPU time; the second check of the same inputs can skip that. The key is
// everything the check reads: the SBOM's bytes, the lock, and each subject's path and
// SHA-256 as the manifest gives it, which the caller has verified the file against before
// checking (Release's contract), so a changed artifact, SBOM or lock is checked again.
// Only a run that builds a release shares one; `reliquary verify` checks everything.
type Memo struct{ passed sync.Map }

// NewMemo returns an empty memo, safe for concurrent use.
func NewMemo() *Memo { return &Memo{} }

func memoKey(rel Release, data []byte, subjects []Subject) (string, error) {
	lock, err := json.Marshal(rel.Lock)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	part := func(b []byte) { fmt.Fprintf(h, "%d:%s", len(b), b) } // length-prefixed: no two splits collide
	part([]byte("reliquary sbom check v1"))
	part(data)
	part(lock)
	for _, s := range subjects {
		part([]byte(s.Path))
		part([]byte(s.SHA256))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Check verifies a shipped SBOM (path in the bundle, data its bytes) against the binary it
// describes: read again, offline, out of every archive and image it names as a subject,
// which must be the manifest's and must hold the same binary; the SBOM regenerated from
// that binary's build info and the lock must say the same, module for module. It returns
// the subjects' paths.
func Check(rel Release, path string, data []byte) ([]string, error) {
	b, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	main := b.Metadata.Component
	platform := property(main, "reliquary:platform")
	if want := FileName(main.Name, platform); want != path {
		return nil, fmt.Errorf("%w: %s describes %s on %q, whose SBOM is %s", ErrSBOM, path, main.Name, platform, want)
	}
	subjects, err := subjectsOf(rel, path, main)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, s := range subjects {
		paths = append(paths, s.Path)
	}
	var key string
	if rel.Memo != nil {
		if key, err = memoKey(rel, data, subjects); err != nil {
			return nil, err
		}
		if _, ok := rel.Memo.passed.Load(key); ok {
			return paths, nil
		}
	}
	bin, err := readBinary(rel, path, main.Name, platform, subjects)
	if err != nil {
		return nil, err
	}
	bi, err := BuildInfo(path+": the binary "+main.Name, bytes.NewReader(bin))
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339, b.Metadata.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: metadata.timestamp: %v", ErrSBOM, path, err)
	}
	sum := sha256.Sum256(bin)
	want, err := Generate(Input{Name: main.Name, Platform: platform, Version: main.Version, SHA256: hex.EncodeToString(sum[:]),
		Time: t, Info: bi, Lock: rel.Lock, Subjects: subjects})
	if err != nil {
		return nil, err
	}
	if d := Diff(want, b); len(d) > 0 {
		return nil, fmt.Errorf("%w: %s does not describe the binary it ships with: %s", ErrSBOM, path, strings.Join(d, "; "))
	}
	if rel.Memo != nil {
		rel.Memo.passed.Store(key, true)
	}
	return paths, nil
}

func property(c *cdx.Component, name string) string {
	if c.Properties == nil {
		return ""
	}
	for _, p := range *c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// subjectsOf are the SBOM's distribution references, each an archive or image of the
// manifest with the digest the manifest gives.
func subjectsOf(rel Release, path string, main *cdx.Component) ([]Subject, error) {
	byPath := rel.Artifacts.ByPath()
	var out []Subject
	if main.ExternalReferences != nil {
		for _, r := range *main.ExternalReferences {
			a, ok := byPath[r.URL]
			if !ok || (a.Kind != artifact.KindArchive && a.Kind != artifact.KindImage) {
				return nil, fmt.Errorf("%w: %s: subject %q is not an archive or image of the manifest", ErrSBOM, path, r.URL)
			}
			out = append(out, Subject{Path: a.Path, SHA256: a.Digest.SHA256})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s names no archive or image that ships the binary", ErrSBOM, path)
	}
	return out, nil
}

// readBinary reads the binary out of every subject; all must hold the same bytes.
func readBinary(rel Release, path, name, platform string, subjects []Subject) ([]byte, error) {
	var first []byte
	var errs []error
	for _, s := range subjects {
		file := filepath.Join(rel.Dir, filepath.FromSlash(s.Path))
		var data []byte
		var err error
		if strings.HasSuffix(s.Path, ".oci.tar") {
			data, err = image.ReadBinary(file, platform, name, MaxBinary)
		} else {
			data, err = archive.ReadMember(file, name, MaxBinary)
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%w: %s: cannot read %s out of %s: %v", ErrSBOM, path, name, s.Path, err))
		case first == nil:
			first = data
		case !bytes.Equal(first, data):
			errs = append(errs, fmt.Errorf("%w: %s: %s in %s is not the binary in %s", ErrSBOM, path, name, s.Path, subjects[0].Path))
		}
	}
	return first, errors.Join(errs...)
}
