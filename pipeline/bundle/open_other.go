//go:build !unix

package bundle

// openNoFollow is empty where the OS has no O_NOFOLLOW; Open's per-element Lstat check and
// the regular-file check still refuse symlinks there.
const openNoFollow = 0

func isSymlinkLoop(error) bool { return false }
