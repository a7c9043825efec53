//go:build unix

package bundle

import (
	"errors"
	"syscall"
)

// openNoFollow opens the final path element without following a symlink, and a FIFO
// without blocking (the regular-file check then refuses it).
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// isSymlinkLoop reports the error O_NOFOLLOW gives for a symlink.
func isSymlinkLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }
