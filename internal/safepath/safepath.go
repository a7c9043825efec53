// Package safepath validates paths that come from untrusted input, such as a manifest inside
// a release bundle. A valid path is relative, slash-separated, clean, valid UTF-8, and cannot
// leave the directory it is resolved against. Reading through such a path should still go
// through os.Root, which also refuses symlinks that lead out of the directory.
package safepath

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrUnsafe is the root of every error Check returns.
var ErrUnsafe = errors.New("unsafe path")

// MaxLen bounds a path's length; longer paths are refused before any other check.
const MaxLen = 1024

// Check returns nil if p is safe to resolve inside a bundle.
func Check(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty", ErrUnsafe)
	case len(p) > MaxLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrUnsafe, MaxLen)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrUnsafe, p)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("%w: %q contains a NUL byte", ErrUnsafe, p)
	case strings.ContainsRune(p, '\\'):
		return fmt.Errorf("%w: %q contains a backslash", ErrUnsafe, p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrUnsafe, p)
	case len(p) >= 2 && p[1] == ':':
		return fmt.Errorf("%w: %q looks like a drive path", ErrUnsafe, p)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return fmt.Errorf("%w: %q climbs out of the directory (a .. element)", ErrUnsafe, p)
		}
	}
	if path.Clean(p) != p || p == "." {
		return fmt.Errorf("%w: %q is not clean (want %q)", ErrUnsafe, p, path.Clean(p))
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %q contains a control character", ErrUnsafe, p)
		}
	}
	return nil
}
