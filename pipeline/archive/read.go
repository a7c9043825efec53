package archive

import (
	"archive/tar"
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/inflate"
)

// Limits bounding what the readers accept, checked before content is trusted.
const (
	MaxMembers   = 100_000 // entries in one archive
	MaxTotalSize = 8 << 30 // uncompressed bytes over all entries
)

// ErrLimit is returned when an archive exceeds MaxMembers or MaxTotalSize.
var ErrLimit = errors.New("archive exceeds limits")

// Member is one entry as read back from an archive: what the writer controls, so two
// members compare equal exactly when the writer was given the same input.
type Member struct {
	Name    string      `json:"name"` // as stored, directories with a trailing slash
	Mode    fs.FileMode `json:"mode"` // type and permission bits
	Size    int64       `json:"size"`
	ModTime time.Time   `json:"modTime"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
	Owner   string      `json:"owner,omitempty"` // "uname:gname" for tar, when set
	SHA256  string      `json:"sha256,omitempty"`
	Extra   string      `json:"extra,omitempty"` // hex of zip extra fields, when present
}

// Diff describes how m differs from o ("" when the members are equal).
func (m Member) Diff(o Member) string {
	var d []string
	if m.Name != o.Name {
		d = append(d, fmt.Sprintf("name %q != %q", m.Name, o.Name))
	}
	if m.Mode != o.Mode {
		d = append(d, fmt.Sprintf("mode %v != %v", m.Mode, o.Mode))
	}
	if m.Size != o.Size {
		d = append(d, fmt.Sprintf("size %d != %d", m.Size, o.Size))
	}
	if !m.ModTime.Equal(o.ModTime) {
		d = append(d, fmt.Sprintf("mtime %s != %s", m.ModTime.UTC().Format(time.RFC3339), o.ModTime.UTC().Format(time.RFC3339)))
	}
	if m.UID != o.UID || m.GID != o.GID || m.Owner != o.Owner {
		d = append(d, fmt.Sprintf("owner %d:%d %q != %d:%d %q", m.UID, m.GID, m.Owner, o.UID, o.GID, o.Owner))
	}
	if m.SHA256 != o.SHA256 {
		d = append(d, fmt.Sprintf("content sha256 %.12s != %.12s", m.SHA256, o.SHA256))
	}
	if m.Extra != o.Extra {
		d = append(d, "zip extra fields differ")
	}
	return strings.Join(d, "; ")
}

// List reads the members of the archive file at name, choosing the format by its suffix
// (.zip, .tar.gz/.tgz, .tar including .oci.tar). Other files are an error.
func List(name string) ([]Member, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	var ms []Member
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".zip"):
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		ms, err = ListZip(f, fi.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return ms, nil
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		ms, err = ListTarGz(f)
	case strings.HasSuffix(n, ".tar"):
		ms, err = ListTar(f)
	default:
		return nil, fmt.Errorf("archive: %s: not a tar, tar.gz or zip file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ms, nil
}

// ListTarGz reads the members of a gzip-compressed tar stream.
func ListTarGz(r io.Reader) ([]Member, error) {
	zr, err := inflate.Gzip(r)
	if err != nil {
		return nil, fmt.Errorf("archive: gzip: %w", err)
	}
	defer zr.Close()
	return ListTar(zr)
}

// ListTar reads the members of a tar stream.
func ListTar(r io.Reader) ([]Member, error) {
	tr := tar.NewReader(r)
	var out []Member
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("archive: tar: entry %d: %w", len(out), err)
		}
		if len(out) >= MaxMembers {
			return nil, fmt.Errorf("archive: tar: %w: more than %d entries", ErrLimit, MaxMembers)
		}
		if total += h.Size; h.Size < 0 || total > MaxTotalSize {
			return nil, fmt.Errorf("archive: tar: %w: more than %d bytes", ErrLimit, int64(MaxTotalSize))
		}
		m := Member{Name: h.Name, Mode: h.FileInfo().Mode(), Size: h.Size, ModTime: h.ModTime,
			UID: h.Uid, GID: h.Gid}
		if h.Uname != "" || h.Gname != "" {
			m.Owner = h.Uname + ":" + h.Gname
		}
		if h.Typeflag == tar.TypeReg {
			if m.SHA256, err = hashReader(tr); err != nil {
				return nil, fmt.Errorf("archive: tar: %s: %w", h.Name, err)
			}
		}
		out = append(out, m)
	}
}

// ListZip reads the members of a zip archive.
func ListZip(r io.ReaderAt, size int64) ([]Member, error) {
	zr, err := inflate.Zip(r, size)
	if err != nil {
		return nil, fmt.Errorf("archive: zip: %w", err)
	}
	if len(zr.File) > MaxMembers {
		return nil, fmt.Errorf("archive: zip: %w: %d entries", ErrLimit, len(zr.File))
	}
	var total uint64
	for _, f := range zr.File {
		if total += f.UncompressedSize64; total > MaxTotalSize {
			return nil, fmt.Errorf("archive: zip: %w: more than %d bytes", ErrLimit, int64(MaxTotalSize))
		}
	}
	out := make([]Member, 0, len(zr.File))
	for _, f := range zr.File {
		m, err := zipMember(f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func zipMember(f *zip.File) (Member, error) {
	m := Member{Name: f.Name, Mode: f.Mode(), Size: int64(f.UncompressedSize64), ModTime: f.Modified}
	if len(f.Extra) > 0 {
		m.Extra = hex.EncodeToString(f.Extra)
	}
	if f.Mode().IsDir() {
		return m, nil
	}
	rc, err := f.Open()
	if err != nil {
		return Member{}, fmt.Errorf("archive: zip: %s: %w", f.Name, err)
	}
	defer rc.Close()
	// The declared size bounds the read; zip's reader checks the CRC at EOF.
	if m.SHA256, err = hashReader(io.LimitReader(rc, int64(f.UncompressedSize64)+1)); err != nil {
		return Member{}, fmt.Errorf("archive: zip: %s: %w", f.Name, err)
	}
	return m, nil
}

func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MemberDiff locates the first difference between two member lists.
type MemberDiff struct {
	Index  int    `json:"index"`  // position in the archive
	Name   string `json:"name"`   // the member's name (in the first list when present)
	Detail string `json:"detail"` // what differs
}

// FirstDiff returns the first position where a and b differ, or nil when they are equal.
func FirstDiff(a, b []Member) *MemberDiff {
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i >= len(a):
			return &MemberDiff{Index: i, Name: b[i].Name, Detail: "only in the second archive"}
		case i >= len(b):
			return &MemberDiff{Index: i, Name: a[i].Name, Detail: "only in the first archive"}
		}
		if d := a[i].Diff(b[i]); d != "" {
			return &MemberDiff{Index: i, Name: a[i].Name, Detail: d}
		}
	}
	return nil
}
