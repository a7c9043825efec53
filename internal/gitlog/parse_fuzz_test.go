package gitlog

import (
	"strings"
	"testing"
)

// FuzzParseLog feeds arbitrary bytes to the git log parser: it must never panic, and every
// commit it returns must carry a well-formed hash.
func FuzzParseLog(f *testing.F) {
	h := strings.Repeat("a", 40)
	f.Add([]byte(h + "\x001700000000\x00feat: x\n\nbody\n\x00"))
	f.Add([]byte(h + "\x001700000000\x00one\x00\n" + h + "\x0017\x00two\x00"))
	f.Add([]byte("garbage\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, out []byte) {
		commits, err := parseLog(out)
		if err != nil {
			return
		}
		for _, c := range commits {
			if !isHash(c.Hash) {
				t.Fatalf("accepted hash %q", c.Hash)
			}
		}
	})
}
