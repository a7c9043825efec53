package archive_test

import (
	"bytes"
	"testing"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// seeds are small valid archives of each format, so the fuzzer starts from real structure.
func seeds(f *testing.F) [][]byte {
	es := []archive.Entry{{Name: "d/x", Data: []byte("hello"), Mode: 0o755}, {Name: "y", Data: []byte("y")}}
	var out [][]byte
	for _, w := range writers {
		var b bytes.Buffer
		if err := w.write(&b, es, commitTime); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// FuzzReaders feeds arbitrary bytes to every reader: errors are fine, panics and unbounded
// work are not.
func FuzzReaders(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = archive.ListTar(bytes.NewReader(data))
		_, _ = archive.ListTarGz(bytes.NewReader(data))
		_, _ = archive.ListZip(bytes.NewReader(data), int64(len(data)))
	})
}
