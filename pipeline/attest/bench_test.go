package attest_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/attest"
)

// Release-sized benchmarks: 1,000 artifacts is the size the performance targets name.

func BenchmarkBuild1000(b *testing.B) {
	in := testInput(1000)
	for b.Loop() {
		if _, err := attest.Build(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck1000(b *testing.B) {
	in := testInput(1000)
	stmts := build(b, in)
	signed := []attest.Signed{{File: stmts[0].File, Statement: stmts[0].JSON}}
	for b.Loop() {
		if probs := attest.Check(signed, in.Artifacts, in.Version); len(probs) != 0 {
			b.Fatal(probs)
		}
	}
}

// BenchmarkWrite1000 is the whole attest stage: build, self-check, sign, write.
func BenchmarkWrite1000(b *testing.B) {
	key := newKey(b)
	dir, in := releaseDir(b, 1000)
	for b.Loop() {
		if _, err := attest.Write(dir, in, key); err != nil {
			b.Fatal(err)
		}
	}
}
