package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sentientos/reliquary/internal/inflate"
)

// ErrNoMember says the archive has no regular file of that name.
var ErrNoMember = errors.New("no such regular file")

// ReadMember returns the content of the regular file called member in the archive at name
// (.zip, .tar.gz/.tgz), reading at most max bytes of it: a binary to inspect offline.
func ReadMember(name, member string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	var data []byte
	if strings.HasSuffix(strings.ToLower(name), ".zip") {
		data, err = zipMemberData(f, member, max)
	} else {
		data, err = tarGzMemberData(f, member, max)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %s: %w", name, member, err)
	}
	return data, nil
}

func zipMemberData(f *os.File, member string, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	zr, err := inflate.Zip(f, fi.Size())
	if err != nil {
		return nil, err
	}
	for _, zf := range zr.File {
		if zf.Name != member || !zf.Mode().IsRegular() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return readBounded(rc, max)
	}
	return nil, ErrNoMember
}

func tarGzMemberData(r io.Reader, member string, max int64) ([]byte, error) {
	zr, err := inflate.Gzip(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return TarMember(zr, member, max)
}

// TarMember returns the content of the last regular file called member in a tar stream
// (the last one wins, as in an image layer), reading at most max bytes of it.
func TarMember(r io.Reader, member string, max int64) ([]byte, error) {
	tr := tar.NewReader(r)
	var found []byte
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if n >= MaxMembers {
			return nil, fmt.Errorf("%w: more than %d entries", ErrLimit, MaxMembers)
		}
		if h.Typeflag == tar.TypeReg && strings.TrimPrefix(h.Name, "./") == member {
			if found, err = readBounded(tr, max); err != nil {
				return nil, err
			}
		}
	}
	if found == nil {
		return nil, ErrNoMember
	}
	return found, nil
}

func readBounded(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrLimit, max)
	}
	return data, nil
}
