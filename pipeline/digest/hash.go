package digest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"github.com/sentientos/reliquary/pipeline/artifact"
)

// Algorithms selects which digests to compute. SHA-256 is always computed.
type Algorithms uint8

const (
	SHA256Only Algorithms = iota // only SHA-256: what the gate needs, at full hashing speed
	WithSHA512                   // SHA-256 and SHA-512 from one read of the file
)

// bufSize is the read size: large enough that syscalls vanish from the profile, small
// enough that many workers stay far below the memory budget.
const bufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Reader hashes everything r yields, reading it once, in constant memory.
func Reader(r io.Reader, algs Algorithms) (int64, artifact.Digests, error) {
	h256 := sha256.New()
	var h512 hash.Hash
	w := io.Writer(h256)
	if algs == WithSHA512 {
		h512 = sha512.New()
		w = io.MultiWriter(h256, h512)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(w, struct{ io.Reader }{r}, *bp)
	if err != nil {
		return n, artifact.Digests{}, err
	}
	d := artifact.Digests{SHA256: hex.EncodeToString(h256.Sum(nil))}
	if h512 != nil {
		d.SHA512 = hex.EncodeToString(h512.Sum(nil))
	}
	return n, d, nil
}

// Bytes returns the hex SHA-256 of data.
func Bytes(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
