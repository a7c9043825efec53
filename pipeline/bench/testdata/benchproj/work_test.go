package benchproj

import (
	"fmt"
	"testing"
)

var sink uint64

func BenchmarkWork(b *testing.B) {
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		sink = Work(buf)
	}
}

// BenchmarkSizes has sub-benchmarks with key=value names.
func BenchmarkSizes(b *testing.B) {
	for _, n := range []int{64, 1024} {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			buf := make([]byte, n)
			for i := 0; i < b.N; i++ {
				sink = Work(buf)
			}
		})
	}
}

var keep []byte

// BenchmarkAlloc allocates exactly once per iteration and reports a custom metric.
func BenchmarkAlloc(b *testing.B) {
	for i := 0; i < b.N; i++ {
		keep = make([]byte, 100)
	}
	b.ReportMetric(42, "widgets/op")
}

func TestWork(t *testing.T) {
	if Work(nil) != 14695981039346656037 {
		t.Fatal("Work(nil) is not the FNV offset basis")
	}
}
