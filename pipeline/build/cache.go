package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/source"
)

// cacheSchema versions the key: a change in what a key covers must change every key.
const cacheSchema = "https://reliquary.dev/build/binary-cache/v1"

// CacheKey is everything one go build's binaries depend on. The build is hermetic (clean
// environment, GOPROXY=off, -trimpath, no build ID) and reproducible, so two builds with the
// same key link the same bytes, and a binary linked once can be reused instead of linked
// again. A field left out here would make the cache unsound: TestCacheKeyCoversEveryInput
// changes each field in turn.
type CacheKey struct {
	// Tree is the source tree digest (source.TreeDigest with source.DefaultExcludes, the
	// one the provenance records): every Go file, go.mod, go.sum and embedded file.
	Tree string `json:"tree"`
	// Lock is the frozen dependency set's digest ("" when built without a lock); with
	// GOPROXY=off the modules themselves are fixed by go.sum, part of Tree.
	Lock string `json:"lock"`
	// Toolchain is the exact go toolchain (`go version`).
	Toolchain Toolchain `json:"toolchain"`
	// Command is the go build as run: platform, main packages, flags and -ldflags (which
	// carry the version, commit and date stamps) and the environment that decides the output.
	Command Command `json:"command"`
}

// Sum is the key's hex SHA-256, the cache entry's name.
func (k CacheKey) Sum() string {
	data, err := json.Marshal(struct {
		Schema string   `json:"schema"`
		Key    CacheKey `json:"key"`
	}{cacheSchema, k})
	if err != nil {
		panic(err) // plain strings and slices always marshal
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// DefaultBinaryCache is where the release keeps linked binaries unless told otherwise: the
// user's cache directory (os.UserCacheDir) under reliquary/bin.
func DefaultBinaryCache() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "reliquary", "bin"), nil
}

// binCache is a directory of entries, one per key: the binaries under their default names
// and a SHA256SUMS of them (digest.ParseChecksums reads it), which a hit checks (a truncated or altered entry is a miss).
// An entry is written in a temporary directory and renamed into place, so concurrent
// builds never see half an entry; when two write the same key, the first rename wins.
type binCache struct{ dir string }

const cacheSums = "SHA256SUMS"

// get copies the entry's binaries into dst. It reports false on a miss; an unusable entry
// is a miss, with the reason in err for the log, and leaves none of its files in dst.
func (c binCache) get(key, dst string, names []string) (hit bool, err error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return false, err
	}
	return c.getPaths(key, under(dst, names))
}

// getPaths copies the entry's files (name -> destination path) out of the cache, as get does.
func (c binCache) getPaths(key string, files map[string]string) (hit bool, err error) {
	defer func() {
		if err != nil {
			for _, p := range files {
				os.Remove(p)
			}
		}
	}()
	entry := filepath.Join(c.dir, key[:2], key)
	sums, err := os.ReadFile(filepath.Join(entry, cacheSums))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	list, err := digest.ParseChecksums(sums)
	if err != nil {
		return false, fmt.Errorf("binary cache entry %s: %w", entry, err)
	}
	want := map[string]string{}
	for _, s := range list {
		want[s.Path] = s.SHA256
	}
	for _, n := range slices.Sorted(maps.Keys(files)) {
		got, err := copyHashed(filepath.Join(entry, n), files[n])
		if err != nil {
			return false, err
		}
		if got != want[n] {
			return false, fmt.Errorf("binary cache entry %s: %s has sha256:%s, its SHA256SUMS says sha256:%s", entry, n, got, want[n])
		}
	}
	return true, nil
}

// put stores the binaries in src under key.
func (c binCache) put(key, src string, names []string) error {
	return c.putPaths(key, under(src, names))
}

// putPaths stores files (name -> source path) under key.
func (c binCache) putPaths(key string, files map[string]string) error {
	parent := filepath.Join(c.dir, key[:2])
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+key[:8]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	var sums strings.Builder
	for _, n := range slices.Sorted(maps.Keys(files)) {
		sum, err := copyHashed(files[n], filepath.Join(tmp, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, n)
	}
	if err := os.WriteFile(filepath.Join(tmp, cacheSums), []byte(sums.String()), 0o644); err != nil {
		return err
	}
	err = os.Rename(tmp, filepath.Join(parent, key))
	if err != nil && entryExists(filepath.Join(parent, key)) {
		return nil // another build stored the same key first
	}
	return err
}

// under maps each name to its path in dir.
func under(dir string, names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = filepath.Join(dir, n)
	}
	return m
}

// drop removes an entry that failed its check.
func (c binCache) drop(key string) { os.RemoveAll(filepath.Join(c.dir, key[:2], key)) }

func entryExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, cacheSums))
	return err == nil
}

// copyHashed copies src to dst (executable) and returns the hex SHA-256 of what it copied.
func copyHashed(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cacheKeys computes each job's key; they are all "" when the build has no binary cache.
func (r *runner) cacheKeys(js []job) ([]string, error) {
	keys := make([]string, len(js))
	if r.s.binCache == "" {
		return keys, nil
	}
	tree, err := source.TreeDigest(r.source, source.DefaultExcludes)
	if err != nil {
		return nil, fmt.Errorf("build: binary cache: %w", err)
	}
	var lock string
	if r.s.lock != nil {
		lock = r.s.lock.Digest
	}
	for i, j := range js {
		keys[i] = CacheKey{Tree: tree, Lock: lock, Toolchain: r.host.toolchain, Command: j.cmd}.Sum()
	}
	return keys, nil
}

// names are the file names one job's go build writes.
func (j job) names() []string {
	var out []string
	for _, t := range j.targets {
		out = append(out, defaultName(t.ImportPath)+j.platform.exe())
	}
	return out
}
