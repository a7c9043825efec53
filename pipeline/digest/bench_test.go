package digest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/pipeline/digest"
)

// BenchmarkRun hashes 8 files of 16 MiB; b.SetBytes makes `go test -bench` report MB/s.
// bench/digest.sh measures the full 1 GiB case against openssl and sha256sum.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 16<<20)
	rand.Read(buf)
	for i := range 8 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.bin", i)), buf, 0o644)
	}
	for _, algs := range []struct {
		name string
		a    digest.Algorithms
	}{{"sha256", digest.SHA256Only}, {"sha256+sha512", digest.WithSHA512}} {
		b.Run(algs.name, func(b *testing.B) {
			b.SetBytes(8 << 24)
			for b.Loop() {
				if _, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "p", Version: "v1", Algorithms: algs.a}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
