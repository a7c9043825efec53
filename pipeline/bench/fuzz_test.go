package bench_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

// FuzzCheckStatement: the gate checks a signed benchmark statement against bench.json with
// CheckStatement. Any pair of inputs is refused or accepted without a panic, and a pair it
// accepts is consistent: the statement derived again from that bench.json is accepted too.
func FuzzCheckStatement(f *testing.F) {
	good, err := fixture(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	stmt, err := bench.Statement(good)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := bench.CheckStatement(stmt, good); err != nil {
		f.Fatalf("the seed pair is refused: %v", err)
	}
	f.Add(stmt, good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, statement, benchJSON []byte) {
		if _, err := bench.CheckStatement(statement, benchJSON); err != nil {
			return
		}
		again, err := bench.Statement(benchJSON)
		if err != nil {
			t.Fatalf("accepted a bench.json no statement can be made for: %v", err)
		}
		if _, err := bench.CheckStatement(again, benchJSON); err != nil {
			t.Fatalf("accepted a statement but not the one derived from the same bench.json: %v", err)
		}
	})
}
