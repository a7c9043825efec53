// Package benchproj is the project the bench stage's tests measure. A second version of this
// file (../benchproj-slow/work.go) does three times the work and one more allocation per call.
package benchproj

// rounds is how many passes Work makes over its input.
const rounds = 1

// extraAllocs is how many heap allocations Work makes besides none.
const extraAllocs = 0

var escape *[64]byte

// Work hashes buf (FNV-1a) rounds times.
func Work(buf []byte) uint64 {
	h := uint64(14695981039346656037)
	for r := 0; r < rounds; r++ {
		for _, b := range buf {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	for i := 0; i < extraAllocs; i++ {
		escape = new([64]byte)
	}
	return h
}
