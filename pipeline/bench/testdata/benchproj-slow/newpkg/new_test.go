package newpkg

import "testing"

var sink int

func BenchmarkNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink = Double(i)
	}
}
