package freeze

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/sentientos/reliquary/internal/atomicfile"
)

// WithVerifyMemo remembers in dir the module caches `go mod verify` passed, and skips the
// check when the cache is provably unchanged since. A warm release spends most of its
// freeze there: go mod verify hashes every module's zip and extracted tree again (1.8 s for
// nfpm's 84 modules, 350 MB). The memo's key is a fingerprint of go.mod, go.sum and the
// metadata of every file of every module the freeze downloaded (its tree, zip and .mod):
// path, mode, size, modification and change time, inode and device. Writing a file, or
// replacing it, changes its change time, which no unprivileged process can set back, so a
// module changed after it was verified is verified again, as git's index relies on. Where
// change times cannot be read (not unix), the check always runs.
func WithVerifyMemo(dir string) Option {
	return func(s *settings) error {
		abs, err := filepath.Abs(dir)
		s.verifyMemo = abs
		return err
	}
}

// VerifiedFromMemo reports whether this freeze skipped go mod verify because the module
// cache was unchanged since an earlier freeze verified it (WithVerifyMemo). It is not part
// of the lock: the lock is the same either way.
func (l *Lock) VerifiedFromMemo() bool { return l.memoHit }

// memoKey is the fingerprint of everything go mod verify reads, or "" when it cannot be
// taken (the reason is logged: the check then runs).
func (st *state) memoKey(dls []downloaded) string {
	h := sha256.New()
	writeField(h, []byte("reliquary verify memo v1"))
	writeField(h, st.goMod)
	writeField(h, st.goSum)
	dls = slices.Clone(dls)
	slices.SortFunc(dls, func(a, b downloaded) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Version, b.Version))
	})
	for _, d := range dls {
		writeField(h, []byte(d.Path+"@"+d.Version))
		for _, f := range []string{d.Zip, d.GoMod} {
			if err := stampFile(h, f); err != nil {
				return st.noMemo(err)
			}
		}
		if d.Dir == "" {
			continue
		}
		if err := stampTree(h, d.Dir); err != nil {
			return st.noMemo(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (st *state) noMemo(err error) string {
	st.s.log.Info("freeze: the verify memo is not used", "reason", err.Error())
	return ""
}

// stampTree writes every entry under dir, in WalkDir's (lexical) order, with its stamp.
func stampTree(h hash.Hash, dir string) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		writeField(h, []byte(filepath.ToSlash(rel)))
		return stamp(h, p)
	})
}

// stampFile writes a file's name and stamp; a missing file is stamped as missing.
func stampFile(h hash.Hash, name string) error {
	writeField(h, []byte(name))
	if name == "" {
		return nil
	}
	if err := stamp(h, name); errors.Is(err, fs.ErrNotExist) {
		writeField(h, []byte("missing"))
	} else if err != nil {
		return err
	}
	return nil
}

// writeField writes a length-prefixed field, so that no two field lists hash alike.
func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// memoPath is the memo's file for a key.
func (st *state) memoPath(key string) string { return filepath.Join(st.s.verifyMemo, key) }

// memoHit reports whether the key was remembered.
func (st *state) memoHit(key string) bool {
	if key == "" {
		return false
	}
	_, err := os.Lstat(st.memoPath(key))
	return err == nil
}

// remember records a key whose cache go mod verify passed. Failing to is not an error: the
// next freeze verifies again.
func (st *state) remember(key string) {
	if key == "" {
		return
	}
	err := os.MkdirAll(st.s.verifyMemo, 0o755)
	if err == nil {
		err = atomicfile.WriteFile(st.memoPath(key), []byte(fmt.Sprintf("go mod verify passed for %s\n", st.root)), 0o644)
	}
	if err != nil {
		st.s.log.Warn("freeze: could not remember the verified module cache", "dir", st.s.verifyMemo, "error", err.Error())
	}
}
