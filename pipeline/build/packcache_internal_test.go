package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/image"
)

// TestPackKeyCoversEveryInput changes each input of an archive and of the image in turn (a
// file's content, an entry's name or mode, inline data, the time, every image label, the
// base image, the packer, the artifact name) and expects a different key: an input the key
// missed would let a stale archive or image through.
func TestPackKeyCoversEveryInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bin, readme, base := write("bin", "binary"), write("README.md", "readme"), write("base.oci.tar", "base")
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := func(k PackKey, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		k.Packer, k.Artifact = "packer", "a.tar.gz"
		s, err := k.Sum()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	entries := func() []archive.Entry {
		return []archive.Entry{
			{Name: "README.md", Mode: 0o644, Path: readme},
			{Name: "NOTICE", Mode: 0o644, Data: []byte("inline")},
			{Name: "tool", Mode: 0o755, Path: bin},
		}
	}
	want := sum(archiveKey(entries(), when))
	for name, edit := range map[string]func(e []archive.Entry) time.Time{
		"an entry's name":  func(e []archive.Entry) time.Time { e[2].Name = "tool2"; return when },
		"an entry's mode":  func(e []archive.Entry) time.Time { e[0].Mode = 0o755; return when },
		"inline data":      func(e []archive.Entry) time.Time { e[1].Data = []byte("other"); return when },
		"the time":         func(e []archive.Entry) time.Time { return when.Add(time.Second) },
		"the entry order":  func(e []archive.Entry) time.Time { e[0], e[2] = e[2], e[0]; return when },
		"a binary's bytes": func(e []archive.Entry) time.Time { e[2].Path = write("bin2", "binary2"); return when },
		"a file's bytes":   func(e []archive.Entry) time.Time { e[0].Path = write("README2", "readme2"); return when },
	} {
		e := entries()
		if sum(archiveKey(e, edit(e))) == want {
			t.Errorf("archive: changing %s does not change the key", name)
		}
	}

	input := func() image.Input {
		return image.Input{
			Platforms:  []image.Platform{{Platform: "linux/amd64", Binaries: []image.Binary{{Name: "tool", Path: bin}}}},
			Entrypoint: "tool", Time: when, Source: "https://example.com/x", Revision: "abc", Version: "v1.0.0",
			Base: base, Out: filepath.Join(dir, "out.oci.tar"),
		}
	}
	want = sum(imageKey(input()))
	if in := input(); sum(imageKey(func() image.Input { in.Out = "elsewhere"; return in }())) != want {
		t.Error("where the image is written changed the key")
	}
	for name, edit := range map[string]func(in *image.Input){
		"the entrypoint":    func(in *image.Input) { in.Entrypoint = "other" },
		"the time":          func(in *image.Input) { in.Time = when.Add(time.Second) },
		"the source label":  func(in *image.Input) { in.Source = "https://example.com/y" },
		"the revision":      func(in *image.Input) { in.Revision = "abd" },
		"the version":       func(in *image.Input) { in.Version = "v1.0.1" },
		"the base's bytes":  func(in *image.Input) { in.Base = write("base2", "base2") },
		"no base":           func(in *image.Input) { in.Base = "" },
		"the platform":      func(in *image.Input) { in.Platforms[0].Platform = "linux/arm64" },
		"a binary's name":   func(in *image.Input) { in.Platforms[0].Binaries[0].Name = "tool2" },
		"a binary's bytes":  func(in *image.Input) { in.Platforms[0].Binaries[0].Path = write("bin3", "binary3") },
		"an added platform": func(in *image.Input) { in.Platforms = append(in.Platforms, image.Platform{Platform: "linux/arm64"}) },
	} {
		in := input()
		edit(&in)
		if sum(imageKey(in)) == want {
			t.Errorf("image: changing %s does not change the key", name)
		}
	}

	k, err := archiveKey(entries(), when)
	if err != nil {
		t.Fatal(err)
	}
	k.Packer, k.Artifact = "packer", "a.tar.gz"
	ref, _ := k.Sum()
	for name, edit := range map[string]func(k *PackKey){
		"the packer":        func(k *PackKey) { k.Packer = "another reliquary" },
		"the artifact name": func(k *PackKey) { k.Artifact = "a.zip" },
	} {
		c := k
		edit(&c)
		if s, _ := c.Sum(); s == ref {
			t.Errorf("changing %s does not change the key", name)
		}
	}
	if _, err := archiveKey([]archive.Entry{{Name: "x", Path: filepath.Join(dir, "missing")}}, when); err == nil {
		t.Error("a missing input file gave a key")
	}
}
