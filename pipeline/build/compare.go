package build

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/artifact"
)

// Tree is a set of artifacts and the directory their paths are relative to. Dir may be
// empty: Compare then compares digests only.
type Tree struct {
	Dir       string
	Artifacts artifact.List
}

// Comparison is the result of comparing two builds artifact by artifact.
type Comparison struct {
	Reproduced  []string     `json:"reproduced"`  // paths whose size and SHA-256 match
	Differences []Difference `json:"differences"` // everything else, by path
}

// OK reports whether every artifact was reproduced.
func (c *Comparison) OK() bool { return len(c.Differences) == 0 }

// Difference names one artifact that was not reproduced, and where it first differs.
type Difference struct {
	Path   string `json:"path"`
	Reason string `json:"reason"` // "only in first", "only in second", "differs"
	A      *Side  `json:"a,omitempty"`
	B      *Side  `json:"b,omitempty"`
	// Offset is the first differing byte of the files, -1 when not known (no Dir, or a
	// file could not be read).
	Offset int64 `json:"offset"`
	// Entry is the first differing archive member, for tar, tar.gz, zip and OCI tarballs.
	Entry *archive.MemberDiff `json:"entry,omitempty"`
	// Detail says why Offset or Entry is missing, when it is.
	Detail string `json:"detail,omitempty"`
}

// Side is one build's size and digest of an artifact.
type Side struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// String is a one-line report of the difference.
func (d Difference) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", d.Path, d.Reason)
	if d.A != nil && d.B != nil {
		fmt.Fprintf(&b, " (sha256 %.12s size %d vs sha256 %.12s size %d)", d.A.SHA256, d.A.Size, d.B.SHA256, d.B.Size)
	}
	if d.Offset >= 0 {
		fmt.Fprintf(&b, "; first differing byte at offset %d", d.Offset)
	}
	if d.Entry != nil {
		fmt.Fprintf(&b, "; first differing entry #%d %s: %s", d.Entry.Index, d.Entry.Name, d.Entry.Detail)
	}
	if d.Detail != "" {
		fmt.Fprintf(&b, "; %s", d.Detail)
	}
	return b.String()
}

// Compare compares two builds' artifacts by path, size and SHA-256. For each artifact that
// differs it locates the first differing byte and, for archives, the first differing
// member, reading the files under each Tree's Dir.
func Compare(a, b Tree) *Comparison {
	am, bm := a.Artifacts.ByPath(), b.Artifacts.ByPath()
	var paths []string
	for p := range am {
		paths = append(paths, p)
	}
	for p := range bm {
		if _, ok := am[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	c := &Comparison{Reproduced: []string{}, Differences: []Difference{}}
	for _, p := range paths {
		x, inA := am[p]
		y, inB := bm[p]
		switch {
		case !inB:
			c.Differences = append(c.Differences, Difference{Path: p, Reason: "only in first", A: side(x), Offset: -1})
		case !inA:
			c.Differences = append(c.Differences, Difference{Path: p, Reason: "only in second", B: side(y), Offset: -1})
		case x.Size == y.Size && x.Digest.SHA256 == y.Digest.SHA256:
			c.Reproduced = append(c.Reproduced, p)
		default:
			c.Differences = append(c.Differences, locate(a.Dir, b.Dir, x, y))
		}
	}
	return c
}

func side(a artifact.Artifact) *Side { return &Side{Size: a.Size, SHA256: a.Digest.SHA256} }

// locate finds where two versions of an artifact differ.
func locate(dirA, dirB string, x, y artifact.Artifact) Difference {
	d := Difference{Path: x.Path, Reason: "differs", A: side(x), B: side(y), Offset: -1}
	if dirA == "" || dirB == "" {
		d.Detail = "files not available to locate the difference"
		return d
	}
	fa := filepath.Join(dirA, filepath.FromSlash(x.Path))
	fb := filepath.Join(dirB, filepath.FromSlash(y.Path))
	off, err := firstDiffOffset(fa, fb)
	if err != nil {
		d.Detail = err.Error()
		return d
	}
	d.Offset = off
	ma, errA := archive.List(fa)
	mb, errB := archive.List(fb)
	switch {
	case errA == nil && errB == nil:
		d.Entry = archive.FirstDiff(ma, mb)
	case errA != nil && strings.Contains(errA.Error(), "not a tar"):
		// not an archive: the byte offset is all there is
	default:
		d.Detail = fmt.Sprintf("cannot list archive members: %v / %v", errA, errB)
	}
	return d
}

// firstDiffOffset returns the offset of the first byte where the files differ (the shorter
// file's length if one is a prefix of the other), or -1 when they are identical.
func firstDiffOffset(a, b string) (int64, error) {
	fa, err := os.Open(a)
	if err != nil {
		return -1, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return -1, err
	}
	defer fb.Close()
	ra, rb := bufio.NewReaderSize(fa, 1<<16), bufio.NewReaderSize(fb, 1<<16)
	for off := int64(0); ; off++ {
		ca, errA := ra.ReadByte()
		cb, errB := rb.ReadByte()
		switch {
		case errA == io.EOF && errB == io.EOF:
			return -1, nil
		case errA == io.EOF || errB == io.EOF:
			return off, nil
		case errA != nil:
			return -1, errA
		case errB != nil:
			return -1, errB
		case ca != cb:
			return off, nil
		}
	}
}
