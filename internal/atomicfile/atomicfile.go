// Package atomicfile writes files so that a reader, or a crash, never sees a half-written
// one: content goes to a temporary file in the same directory, is synced, and is renamed
// into place.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile atomically replaces name with data.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return Write(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write atomically replaces name with whatever fill writes. If fill fails, name is untouched.
func Write(name string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+tempMarker+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename durable. Some file systems refuse to sync a directory; that is not
// an error worth failing a release for.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// tempMarker is part of every temporary file's name, so leftovers of a killed writer can be
// recognized (and are never mistaken for released files).
const tempMarker = ".tmp-"

// IsTemp reports whether the last element of a slash-separated path names a temporary file
// that Write creates.
func IsTemp(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	return strings.HasPrefix(base, ".") && strings.Contains(base, tempMarker)
}
