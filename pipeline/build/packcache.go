package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/sentientos/reliquary/pipeline/digest"
)

// packSchema versions the pack cache key: a change in what a key covers must change every key.
const packSchema = "https://reliquary.dev/build/pack-cache/v1"

// PackKey is everything one packaged artifact (an archive or the image) depends on. The
// writers are deterministic (fixed times, modes, order and compression), so two runs with
// the same key write the same bytes, and a warm release can copy the artifact instead of
// compressing every binary again, which is most of its CPU time once the binaries come from
// the binary cache. A field left out would make the cache unsound:
// TestPackKeyCoversEveryInput changes each in turn.
type PackKey struct {
	// Packer is the SHA-256 of the running reliquary executable: another build of the
	// writers (another compression, another tar header) never reuses this one's output.
	Packer string `json:"packer"`
	// Artifact is the file name, which also decides the format (.tar.gz, .zip, .oci.tar).
	Artifact string `json:"artifact"`
	// Params are the writer's settings with every file replaced by its place in Contents:
	// entry names and modes, the commit time, the image's labels and entrypoint.
	Params any `json:"params"`
	// Contents are the SHA-256 of every input file (binaries, extra files, base image), in
	// the order the writer reads them.
	Contents []string `json:"contents"`
}

// Sum is the key's hex SHA-256, the cache entry's name.
func (k PackKey) Sum() (string, error) {
	data, err := json.Marshal(struct {
		Schema string  `json:"schema"`
		Key    PackKey `json:"key"`
	}{packSchema, k})
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

// packer is the running executable's SHA-256, or "" (no pack cache) when it cannot be read.
var packer = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	sum, err := fileSHA256(exe)
	if err != nil {
		return ""
	}
	return sum
})

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, d, err := digest.Reader(f, digest.SHA256Only)
	return d.SHA256, err
}

// contentKey hashes the input files for a PackKey.
func contentKey(paths []string) ([]string, error) {
	out := make([]string, len(paths))
	for i, p := range paths {
		sum, err := fileSHA256(p)
		if err != nil {
			return nil, err
		}
		out[i] = sum
	}
	return out, nil
}

const packMeta = "meta.json"

// cachedPack makes the artifact at out: copied from the pack cache (beside the binary
// cache) when key hits, else written by write and then stored. meta, when not nil, is what
// write reports about the artifact (the image's digests); it is stored with the artifact and
// read back on a hit. Without a binary cache, or when the key cannot be computed, it just
// writes: the cache only saves time, so its failures are logged, never fatal.
func (r *runner) cachedPack(out string, key func() (PackKey, error), meta any, write func() error) error {
	if r.s.binCache == "" || packer() == "" {
		return write()
	}
	k, err := key()
	var sum string
	if err == nil {
		k.Packer, k.Artifact = packer(), filepath.Base(out)
		sum, err = k.Sum()
	}
	if err != nil {
		r.s.log.Warn("build: pack cache key not computed, packing", "artifact", filepath.Base(out), "err", err)
		return write()
	}
	c := binCache{dir: filepath.Join(r.s.binCache, "packed")}
	if hit, err := r.packFromCache(c, sum, out, meta); hit {
		return nil
	} else if err != nil {
		r.s.log.Warn("build: pack cache entry unusable, packing again", "artifact", filepath.Base(out), "err", err)
		c.drop(sum)
	}
	if err := write(); err != nil {
		return err
	}
	if err := r.packToCache(c, sum, out, meta); err != nil {
		r.s.log.Warn("build: pack cache not written", "artifact", filepath.Base(out), "err", err)
	}
	return nil
}

// packFromCache copies a hit to a temporary name beside out and renames it into place.
func (r *runner) packFromCache(c binCache, sum, out string, meta any) (bool, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".packcache-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	files := map[string]string{"artifact": filepath.Join(tmp, "artifact")}
	if meta != nil {
		files[packMeta] = filepath.Join(tmp, packMeta)
	}
	hit, err := c.getPaths(sum, files)
	if !hit || err != nil {
		return false, err
	}
	if meta != nil {
		data, err := os.ReadFile(files[packMeta])
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(data, meta); err != nil {
			return false, fmt.Errorf("pack cache entry %s: %s: %w", sum, packMeta, err)
		}
	}
	if err := os.Chmod(files["artifact"], 0o644); err != nil {
		return false, err
	}
	if err := os.Rename(files["artifact"], out); err != nil {
		return false, err
	}
	r.mu.Lock()
	r.out.CachedArtifacts = append(r.out.CachedArtifacts, filepath.Base(out))
	r.mu.Unlock()
	r.s.log.Info("build: from the pack cache", "artifact", filepath.Base(out), "key", sum)
	return true, nil
}

func (r *runner) packToCache(c binCache, sum, out string, meta any) error {
	files := map[string]string{"artifact": out}
	if meta != nil {
		data, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		f, err := os.CreateTemp("", "reliquary-packmeta-")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		files[packMeta] = f.Name()
	}
	return c.putPaths(sum, files)
}
