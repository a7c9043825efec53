package links_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
)

// BenchmarkWrite1000 records, signs and writes the links and layout of a 1,000-artifact bundle.
func BenchmarkWrite1000(b *testing.B) {
	k := newKey(b)
	dir, m := newBundle(b, 1000)
	for b.Loop() {
		attestLinks(b, dir, m, k)
	}
}

// BenchmarkVerify1000 is the gate's links check of a 1,000-artifact bundle, hashing every file.
func BenchmarkVerify1000(b *testing.B) {
	k := newKey(b)
	dir, m := newBundle(b, 1000)
	attestLinks(b, dir, m, k)
	trusted := []*keys.PublicKey{k.priv.PublicKey()}
	for b.Loop() {
		if _, err := links.Verify(dir, trusted); err != nil {
			b.Fatal(err)
		}
	}
}
