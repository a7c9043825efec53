package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
)

// Stable problem codes, part of the JSON report's contract.
const (
	ProblemMissing        = "missing"
	ProblemUnexpected     = "unexpected"
	ProblemDigestMismatch = "digest-mismatch"
	ProblemSizeMismatch   = "size-mismatch"
	ProblemMalformed      = "malformed"
	ProblemNotRegular     = "not-regular-file"
	ProblemUnsafePath     = "unsafe-path"
	ProblemUnreadable     = "unreadable"
	ProblemNotChecked     = "not-checked"
)

const hintResealed = "the file changed after the release was sealed: restore the released bytes (re-download the bundle); never re-digest a release to make the gate pass"

// manifestCheck loads manifest.json; every later check needs it.
type manifestCheck struct{}

func (manifestCheck) Name() string { return "manifest" }

func (manifestCheck) Run(_ context.Context, s *Session) {
	f := Finding{Check: "manifest", File: bundle.ManifestFile}
	data, err := s.Bundle.ReadFile(bundle.ManifestFile, bundle.MaxManifestSize)
	if err != nil && !errors.Is(err, bundle.ErrTooLarge) {
		s.Add(openFailure(f, err))
		return
	}
	var m *bundle.Manifest
	if err == nil {
		m, err = bundle.ParseManifest(data) // exactly the bytes whose digest the signature covers
	}
	if err != nil {
		s.Add(failed(f, ProblemMalformed, "", "", fmt.Sprintf("cannot use the manifest: %v", err),
			"the manifest is the root of the release; without a valid one nothing can be verified: re-download the bundle"))
		return
	}
	s.Manifest, s.manifestSum = m, sha256.Sum256(data)
	s.Report.Artifacts = m.Artifacts
	s.Report.Project, s.Report.Version, s.Report.ManifestSHA256 = m.Project, m.Version, hex.EncodeToString(s.manifestSum[:])
	f.Status, f.Message = Pass, "well-formed"
	s.Add(f)
}

// artifactsCheck recomputes every listed file's size and digest, on several workers.
type artifactsCheck struct {
	algs    digest.Algorithms
	workers int
}

func (artifactsCheck) Name() string { return "artifact" }

func (c artifactsCheck) Run(ctx context.Context, s *Session) {
	if s.Manifest == nil {
		return
	}
	next := make(chan artifact.Artifact)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for a := range next {
				s.Add(c.checkOne(s, a))
			}
		})
	}
	for _, a := range s.Manifest.Artifacts {
		if ctx.Err() != nil {
			break
		}
		next <- a
	}
	close(next)
	wg.Wait()
}

func (c artifactsCheck) checkOne(s *Session, a artifact.Artifact) Finding {
	f := Finding{Check: "artifact", File: a.Path}
	e, listed := s.inventory[a.Path]
	if !listed {
		e = bundle.Entry{Path: a.Path}
	}
	r, fi, err := s.Bundle.OpenListed(e)
	if err != nil {
		return openFailure(f, err)
	}
	defer r.Close()
	if fi.Size() != a.Size {
		return failed(f, ProblemSizeMismatch, fmt.Sprint(a.Size), fmt.Sprint(fi.Size()), "size differs from the manifest", hintResealed)
	}
	algs := c.algs
	if a.Digest.SHA512 == "" {
		algs = digest.SHA256Only
	}
	_, got, err := digest.Reader(r, algs)
	if err != nil {
		return failed(f, ProblemUnreadable, "", "", fmt.Sprintf("cannot read: %v", err), "check the file's permissions and the disk")
	}
	if got.SHA256 != a.Digest.SHA256 {
		return failed(f, ProblemDigestMismatch, "sha256:"+a.Digest.SHA256, "sha256:"+got.SHA256, "sha256 differs from the manifest", hintResealed)
	}
	if algs == digest.WithSHA512 && got.SHA512 != a.Digest.SHA512 {
		return failed(f, ProblemDigestMismatch, "sha512:"+a.Digest.SHA512, "sha512:"+got.SHA512, "sha512 differs from the manifest", hintResealed)
	}
	f.Status, f.Message = Pass, "digest matches"
	return f
}

// checksumsCheck requires SHA256SUMS to list exactly the manifest's files and digests, so
// that `sha256sum -c` users check the same release the gate does.
type checksumsCheck struct{}

func (checksumsCheck) Name() string { return "checksums" }

func (checksumsCheck) Run(_ context.Context, s *Session) {
	if s.Manifest == nil {
		s.Claim(bundle.ChecksumsFile)
		return
	}
	f := Finding{Check: "checksums", File: bundle.ChecksumsFile}
	data, err := s.Bundle.ReadFile(bundle.ChecksumsFile, digest.MaxChecksumsSize)
	if err != nil {
		s.Add(openFailure(f, err))
		return
	}
	sums, err := digest.ParseChecksums(data)
	if err != nil {
		s.Add(failed(f, ProblemMalformed, "", "", err.Error(), "regenerate SHA256SUMS from the signed manifest, or re-download the bundle"))
		return
	}
	problems := compareSums(sums, s.Manifest.Artifacts)
	for _, p := range problems {
		s.Add(failed(f, ProblemDigestMismatch, "", "", p, "SHA256SUMS must list exactly the manifest's files: re-download the bundle"))
	}
	if len(problems) == 0 {
		f.Status, f.Message = Pass, fmt.Sprintf("lists the manifest's %d files", len(sums))
		s.Add(f)
	}
}

func compareSums(sums []digest.Sum, list artifact.List) []string {
	want := list.ByPath()
	var problems []string
	for _, sm := range sums {
		a, ok := want[sm.Path]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("lists %s, which the manifest does not", sm.Path))
		case a.Digest.SHA256 != sm.SHA256:
			problems = append(problems, fmt.Sprintf("gives %s sha256 %s, the manifest %s", sm.Path, sm.SHA256, a.Digest.SHA256))
		}
		delete(want, sm.Path)
	}
	missing := make([]string, 0, len(want))
	for p := range want {
		missing = append(missing, p)
	}
	sort.Strings(missing)
	for _, p := range missing {
		problems = append(problems, fmt.Sprintf("does not list %s", p))
	}
	return problems
}

// inventoryCheck runs last: every path in the bundle must have been claimed by a check.
// Symlinks, devices and unsafe names fail wherever they are.
type inventoryCheck struct{}

func (inventoryCheck) Run(_ context.Context, s *Session) {
	for _, e := range s.sortedInventory() {
		f := Finding{Check: "inventory", File: e.Path}
		switch {
		case e.Err != nil:
			s.Add(failed(f, ProblemUnsafePath, "", "", fmt.Sprintf("unsafe file name: %v", e.Err), "remove it: a release never contains such names"))
		case e.Type != bundle.TypeRegular && !s.isClaimed(e.Path):
			s.Add(failed(f, ProblemNotRegular, "regular file", string(e.Type), fmt.Sprintf("is a %s; bundles hold only regular files", e.Type), "replace it with the released file or remove it"))
		case s.isClaimed(e.Path):
		case bundle.IsReserved(e.Path):
			s.Add(Finding{Check: "inventory", File: e.Path, Status: Skip, Problem: ProblemNotChecked,
				Message: "a bundle record that no enabled check covers (give --key to check signatures)"})
		default:
			s.Add(failed(f, ProblemUnexpected, "not present", "present", "not listed in the manifest", "remove it, or cut a new release that includes it"))
		}
	}
}

func (s *Session) isClaimed(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimed[p]
}

func (s *Session) sortedInventory() []bundle.Entry {
	out := make([]bundle.Entry, 0, len(s.inventory))
	for _, e := range s.inventory {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func failed(f Finding, problem, expected, actual, msg, hint string) Finding {
	f.Status, f.Problem, f.Expected, f.Actual, f.Message, f.Hint = Fail, problem, expected, actual, msg, hint
	return f
}

// openFailure turns an error from opening a bundle file into a finding.
func openFailure(f Finding, err error) Finding {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return failed(f, ProblemMissing, "present", "missing", "missing from the bundle", "restore the file from the original release (re-download the bundle)")
	case errors.Is(err, bundle.ErrNotRegular):
		return failed(f, ProblemNotRegular, "regular file", "", err.Error(), "replace the link with the released file itself")
	}
	return failed(f, ProblemUnreadable, "", "", fmt.Sprintf("cannot read: %v", err), "check the file's permissions and the disk")
}

func sortStrings(s []string) { sort.Strings(s) }
