package build

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBinaryCacheConcurrentWrites: builds storing the same key at once leave one complete
// entry and no temporary directory, and a reader gets the stored bytes.
func TestBinaryCacheConcurrentWrites(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "tool"), []byte("linked binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := binCache{dir: t.TempDir()}
	key := CacheKey{Tree: "sha256:00"}.Sum()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = c.put(key, src, []string{"tool"}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("put: %v", err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(c.dir, key[:2], ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary directories left: %v", left)
	}
	dst := t.TempDir()
	hit, err := c.get(key, dst, []string{"tool"})
	data, _ := os.ReadFile(filepath.Join(dst, "tool"))
	if !hit || err != nil || string(data) != "linked binary" {
		t.Fatalf("get: hit %v, err %v, data %q", hit, err, data)
	}
}
