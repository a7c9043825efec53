package freeze_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/freeze"
)

// FuzzParseLock: arbitrary bytes either parse into a lock that validates and re-marshals to
// a lock with the same digest, or fail with an error; never a panic.
func FuzzParseLock(f *testing.F) {
	l := &freeze.Lock{Schema: freeze.Schema, Module: "example.com/m", Go: "1.26.1",
		Toolchain: freeze.Toolchain{Local: "go1.26.8"},
		Files:     freeze.Files{GoMod: "sha256:" + string(make64('a'))},
		Modules:   []freeze.Module{{Path: "a", Version: "v1.0.0", Sum: "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="}}}
	if err := l.Seal(); err != nil {
		f.Fatal(err)
	}
	seed, err := l.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	l.Toolchain = freeze.Toolchain{Directive: "go1.22.6", Pinned: &freeze.Pinned{Version: "go1.22.6",
		Module: "golang.org/toolchain@v0.0.1-go1.22.6.linux-amd64", Sum: "h1:bNlzYVDdz3HI0dMPvwv7Fxx9i4gPk9afUcR+fLwLB64="}}
	if err := l.Seal(); err != nil {
		f.Fatal(err)
	}
	pinned, err := l.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := freeze.ParseLock("pinned.json", pinned); err != nil {
		f.Fatalf("the pinned seed does not parse: %v", err)
	}
	f.Add(pinned)
	f.Add([]byte(`{"schema":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lock, err := freeze.ParseLock("fuzz.json", data)
		if err != nil {
			return
		}
		out, err := lock.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := freeze.ParseLock("again.json", out)
		if err != nil || back.Digest != lock.Digest {
			t.Fatalf("a parsed lock does not round-trip: %v", err)
		}
	})
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}
