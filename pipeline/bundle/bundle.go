package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/internal/strictjson"
)

// ErrNotRegular is returned when a bundle path is a symlink, directory, device or FIFO where
// a regular file is required. Bundles never contain symlinks: following one could read a
// file outside the bundle, and a link inside it could make two paths share one content.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned when a file is over the size limit its reader set.
var ErrTooLarge = errors.New("file too large")

// Bundle is an open release bundle directory. Every read goes through an os.Root, so no path
// taken from the bundle can reach outside it, whatever symlinks it contains.
type Bundle struct {
	Dir  string
	root *os.Root
}

// Open opens the bundle directory dir.
func Open(dir string) (*Bundle, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open bundle: %s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	return &Bundle{Dir: dir, root: root}, nil
}

// Close releases the bundle's directory handle.
func (b *Bundle) Close() error { return b.root.Close() }

// Open opens the regular file at bundle path p for reading. It refuses unsafe paths and
// anything but a regular file, and never follows a symlink.
func (b *Bundle) Open(p string) (*os.File, fs.FileInfo, error) {
	if err := safepath.Check(p); err != nil {
		return nil, nil, err
	}
	if err := b.noSymlinks(p); err != nil {
		return nil, nil, err
	}
	return b.openRegular(p)
}

// OpenListed opens a path that Inventory reported as a regular file. Inventory never
// descends through a symlink, so no element of such a path is one, and the per-element
// check Open makes can be skipped; the final element is still opened without following.
func (b *Bundle) OpenListed(e Entry) (*os.File, fs.FileInfo, error) {
	if e.Type != TypeRegular || e.Err != nil {
		return b.Open(e.Path)
	}
	return b.openRegular(e.Path)
}

func (b *Bundle) openRegular(p string) (*os.File, fs.FileInfo, error) {
	f, err := b.root.OpenFile(p, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		if isSymlinkLoop(err) {
			return nil, nil, fmt.Errorf("%s: %w (a symlink)", p, ErrNotRegular)
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", p, ErrNotRegular, fi.Mode().Type())
	}
	return f, fi, nil
}

// noSymlinks refuses a path any element of which is a symlink. os.Root already stops links
// that lead out of the bundle; this also stops links inside it, which could make two names
// share one content or hide a file behind another's name.
func (b *Bundle) noSymlinks(p string) error {
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		fi, err := b.root.Lstat(p[:i])
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %w (%s is a symlink)", p, ErrNotRegular, p[:i])
		}
	}
	return nil
}

// ReadFile reads the regular file at bundle path p, refusing files larger than max bytes.
func (b *Bundle) ReadFile(p string, max int64) ([]byte, error) {
	f, fi, err := b.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %w: %d bytes is over the %d-byte limit", p, ErrTooLarge, fi.Size(), max)
	}
	data, err := strictjson.ReadLimited(f, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", p, ErrTooLarge, err)
	}
	return data, nil
}

// Exists reports whether bundle path p exists (as anything, symlinks not followed).
func (b *Bundle) Exists(p string) bool {
	_, err := b.root.Lstat(p)
	return err == nil
}

// Manifest reads and strictly parses the bundle's manifest.json.
func (b *Bundle) Manifest() (*Manifest, error) {
	f, fi, err := b.Open(ManifestFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrManifest, fi.Size(), MaxManifestSize)
	}
	return ReadManifest(f)
}

// WriteFile atomically writes data to bundle path p, creating parent directories.
func (b *Bundle) WriteFile(p string, data []byte) error {
	return WriteFile(b.Dir, p, data)
}

// WriteFile atomically writes data to path p inside dir, creating parent directories.
func WriteFile(dir, p string, data []byte) error {
	return Write(dir, p, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write atomically writes what fill produces to path p inside dir.
func Write(dir, p string, fill func(io.Writer) error) error {
	if err := safepath.Check(p); err != nil {
		return err
	}
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(full, 0o644, fill)
}

// EntryType classifies what a path in the bundle is.
type EntryType string

const (
	TypeRegular EntryType = "file"
	TypeSymlink EntryType = "symlink"
	TypeOther   EntryType = "special" // device, FIFO, socket
)

// Entry is one non-directory path found in the bundle.
type Entry struct {
	Path string
	Type EntryType
	Size int64
	Err  error // set when the name itself is unsafe (not UTF-8, control characters)
}

// Inventory lists every non-directory path in the bundle, sorted, without following
// symlinks. Temporary files left by an interrupted atomic write are listed like any other
// file, so the gate reports them.
func (b *Bundle) Inventory() ([]Entry, error) {
	var out []Entry
	err := fs.WalkDir(b.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		out = append(out, entryFor(p, d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bundle %s: %w", b.Dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func entryFor(p string, d fs.DirEntry) Entry {
	e := Entry{Path: p, Err: safepath.Check(p)}
	switch t := d.Type(); {
	case t&fs.ModeSymlink != 0:
		e.Type = TypeSymlink
	case t.IsRegular():
		e.Type = TypeRegular
		if fi, err := d.Info(); err == nil {
			e.Size = fi.Size()
		}
	default:
		e.Type = TypeOther
	}
	return e
}
