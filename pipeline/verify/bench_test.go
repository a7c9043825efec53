package verify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// BenchmarkVerify10000 is the target: the gate over 10,000 small files in under a second.
func BenchmarkVerify10000(b *testing.B) {
	files := testbundle.Files{}
	for i := range 10000 {
		files[fmt.Sprintf("artifacts/d%02d/file%05d.txt", i%100, i)] = fmt.Sprintf("content of file %d", i)
	}
	dir := testbundle.New(b, files)
	for b.Loop() {
		r, err := verify.Run(context.Background(), dir, verify.WithDigestsOnlyUnsafe())
		if err != nil || !r.Verified {
			b.Fatalf("verify: %v %+v", err, r)
		}
	}
}
