package escrow

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
)

// errTooLarge is returned by limitReader once the uncompressed stream passes its bound.
var errTooLarge = fmt.Errorf("%w: more than %d bytes uncompressed", ErrArchive, MaxTotalSize)

// Read parses an escrow archive (gzip-compressed tar) from r and returns its members, sorted
// by name, with their sizes and sha256. It reads at most MaxArchiveSize compressed bytes and
// MaxTotalSize uncompressed bytes, so a decompression bomb fails early.
func Read(r io.Reader) ([]Member, error) {
	zr, err := gzip.NewReader(&limitReader{r: r, left: MaxArchiveSize, err: fmt.Errorf("%w: more than %d bytes compressed", ErrArchive, MaxArchiveSize)})
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrArchive, err)
	}
	defer zr.Close()
	tr := tar.NewReader(&limitReader{r: zr, left: MaxTotalSize + 1<<20, err: errTooLarge})
	seen := map[string]bool{}
	var out []Member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, wrapRead(fmt.Sprintf("entry %d", len(out)+1), err)
		}
		m, err := readMember(tr, h)
		if err != nil {
			return nil, err
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("%w: member %q appears twice", ErrArchive, m.Name)
		}
		seen[m.Name] = true
		if out = append(out, m); len(out) > MaxMembers {
			return nil, fmt.Errorf("%w: more than %d members", ErrArchive, MaxMembers)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readMember(tr *tar.Reader, h *tar.Header) (Member, error) {
	if err := checkName(h.Name); err != nil {
		return Member{}, err
	}
	if h.Typeflag != tar.TypeReg {
		return Member{}, fmt.Errorf("%w: member %q is not a regular file (tar type %q)", ErrArchive, h.Name, h.Typeflag)
	}
	if h.Size < 0 || h.Size > MaxMemberSize {
		return Member{}, fmt.Errorf("%w: member %q: %d bytes is over the %d-byte limit", ErrArchive, h.Name, h.Size, MaxMemberSize)
	}
	hash := sha256.New()
	n, err := io.Copy(hash, tr)
	if err != nil {
		return Member{}, wrapRead(fmt.Sprintf("member %q", h.Name), err)
	}
	return Member{Name: h.Name, Size: n, SHA256: hex.EncodeToString(hash.Sum(nil))}, nil
}

func wrapRead(what string, err error) error {
	if errors.Is(err, ErrArchive) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrArchive, what, err)
}

// limitReader fails with err, rather than ending quietly, once more than left bytes are read:
// a truncated stream must not look like a complete one.
type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, l.err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
