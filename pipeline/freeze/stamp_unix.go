//go:build unix

package freeze

import (
	"encoding/binary"
	"hash"
	"io/fs"

	"golang.org/x/sys/unix"
)

// stamp writes what changes when a file is written or replaced: mode, size, modification
// and change time, inode and device (lstat: a symlink is stamped, not followed).
func stamp(h hash.Hash, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(name, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	writeUints(h, uint64(st.Mode), uint64(st.Size), uint64(st.Mtim.Nano()), uint64(st.Ctim.Nano()), uint64(st.Ino), uint64(st.Dev))
	return nil
}

func writeUints(h hash.Hash, vs ...uint64) {
	var b [8]byte
	for _, v := range vs {
		binary.BigEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
}
