package archive_test

import (
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// realBinary is a real Go executable to archive: the go command itself (about 15 MB), so
// the numbers reflect how release binaries compress.
func realBinary(b *testing.B) string {
	p, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go binary to archive")
	}
	return p
}

func BenchmarkWriteTarGz(b *testing.B) {
	p := realBinary(b)
	fi, _ := os.Stat(p)
	es := []archive.Entry{{Name: "go", Mode: 0o755, Path: p}}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if err := archive.WriteTarGz(io.Discard, es, commitTime); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteZip(b *testing.B) {
	p := realBinary(b)
	fi, _ := os.Stat(p)
	es := []archive.Entry{{Name: "go", Mode: 0o755, Path: p}}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if err := archive.WriteZip(io.Discard, es, commitTime); err != nil {
			b.Fatal(err)
		}
	}
}
