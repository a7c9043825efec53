// Package archive writes and reads deterministic archives: tar, tar.gz and zip files whose
// bytes depend only on the entries' names, modes and contents and on one timestamp.
//
// Contract of the writers: entries are sorted by name; missing parent directories are added;
// every entry gets the given modification time, uid/gid 0, no user or group names, and a
// normalized mode (directories and executables 0755, other files 0644); the gzip header
// carries no name and no time; zip entries carry only the MS-DOS time field (no extended
// timestamp extra field). The file system's mtimes, owners and the process umask never reach
// the output. Names are checked with internal/safepath; duplicates are refused.
//
// The readers (List, ListTar, ListTarGz, ListZip) are for comparing and testing archives,
// including untrusted ones: they bound entry counts and sizes before trusting them.
package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/internal/safepath"
)

// Normalized modes: the only two modes a regular file gets, and the one a directory gets.
const (
	ModeExec fs.FileMode = 0o755
	ModeFile fs.FileMode = 0o644
	ModeDir  fs.FileMode = fs.ModeDir | 0o755
)

// Entry is one file or directory to put in an archive.
type Entry struct {
	// Name is the slash-separated path inside the archive, without a trailing slash.
	Name string
	// Mode: fs.ModeDir marks a directory; any execute bit makes a file 0755, else 0644.
	Mode fs.FileMode
	// Path is the file whose content is archived. When empty, Data is the content.
	Path string
	// Data is the content of a file entry whose Path is empty.
	Data []byte
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

// normMode is the mode written for e.
func (e Entry) normMode() fs.FileMode {
	switch {
	case e.IsDir():
		return ModeDir
	case e.Mode&0o111 != 0:
		return ModeExec
	}
	return ModeFile
}

// FileEntry makes an entry for the regular file at src, executable if any execute bit is
// set on it. Symlinks and other special files are refused: an archive holds files only.
func FileEntry(name, src string) (Entry, error) {
	fi, err := os.Lstat(src)
	if err != nil {
		return Entry{}, fmt.Errorf("archive: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Entry{}, fmt.Errorf("archive: %s: not a regular file (%s)", src, fi.Mode().Type())
	}
	return Entry{Name: name, Mode: fi.Mode().Perm(), Path: src}, nil
}

// DirEntries makes entries for every regular file under the directory src, named under
// prefix (slash-separated; "" for the archive root), plus the directories holding them.
// Symlinks and special files are refused rather than silently skipped.
func DirEntries(prefix, src string) ([]Entry, error) {
	var out []Entry
	root := os.DirFS(src)
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := path.Join(prefix, p)
		switch {
		case p == ".":
			if prefix != "" {
				out = append(out, Entry{Name: prefix, Mode: ModeDir})
			}
		case d.IsDir():
			out = append(out, Entry{Name: name, Mode: ModeDir})
		default:
			e, err := FileEntry(name, src+string(os.PathSeparator)+p)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", src, err)
	}
	return out, nil
}

// ErrDuplicate is returned when two entries have the same name.
var ErrDuplicate = errors.New("duplicate entry")

// Normalize validates names, refuses duplicates, adds missing parent directories and sorts
// entries by name: the exact list the writers write.
func Normalize(entries []Entry) ([]Entry, error) {
	byName := make(map[string]Entry, len(entries))
	for _, e := range entries {
		e.Name = strings.TrimSuffix(e.Name, "/")
		if err := safepath.Check(e.Name); err != nil {
			return nil, fmt.Errorf("archive: entry name: %w", err)
		}
		if prev, ok := byName[e.Name]; ok {
			// A directory named twice is harmless (DirEntries of overlapping trees).
			if !(prev.IsDir() && e.IsDir()) {
				return nil, fmt.Errorf("archive: %w: %q", ErrDuplicate, e.Name)
			}
			continue
		}
		byName[e.Name] = e
	}
	for name := range byName {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if p, ok := byName[dir]; ok {
				if !p.IsDir() {
					return nil, fmt.Errorf("archive: %q is a file and the parent of %q", dir, name)
				}
				continue
			}
			byName[dir] = Entry{Name: dir, Mode: ModeDir}
		}
	}
	out := make([]Entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// open returns the content of a file entry and its size.
func (e Entry) open() (io.ReadCloser, int64, error) {
	if e.Path == "" {
		return io.NopCloser(bytes.NewReader(e.Data)), int64(len(e.Data)), nil
	}
	f, err := os.Open(e.Path)
	if err != nil {
		return nil, 0, fmt.Errorf("archive: %s: %w", e.Name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("archive: %s: %w", e.Name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("archive: %s: %s is not a regular file", e.Name, e.Path)
	}
	return f, fi.Size(), nil
}

// copyExactly copies the entry's content to w and fails if the file changed size while being
// archived, which would otherwise produce a corrupt archive.
func copyExactly(w io.Writer, r io.Reader, size int64, name string) error {
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("archive: %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("archive: %s: file shrank while archiving (%d of %d bytes)", name, n, size)
	}
	return nil
}
