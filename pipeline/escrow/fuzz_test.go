package escrow_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/escrow"
)

// FuzzRead feeds arbitrary bytes to the escrow reader: it must return members or an
// ErrArchive, never panic, and every member it returns must be a record name.
func FuzzRead(f *testing.F) {
	f.Add(tarGz(f, reg(bundle.ManifestFile, "{}"), reg(bundle.NotesFile, "# notes")))
	f.Add(tarGz(f, reg("../x", "x")))
	f.Add(tarGz(f, reg(bundle.ManifestFile, "a"), reg(bundle.ManifestFile, "b")))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := escrow.Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, escrow.ErrArchive) {
				t.Fatalf("error outside ErrArchive: %v", err)
			}
			return
		}
		for _, m := range ms {
			if !escrow.IsMember(m.Name) || m.Size < 0 || m.Size > escrow.MaxMemberSize || len(m.SHA256) != 64 {
				t.Fatalf("accepted a bad member %+v", m)
			}
		}
	})
}
