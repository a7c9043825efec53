package digest_test

import (
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/digest"
)

func TestChecksumsRoundTrip(t *testing.T) {
	h := strings.Repeat("ab", 32)
	l := artifact.List{
		{Path: "b", Digest: artifact.Digests{SHA256: h}},
		{Path: "a/x.tar.gz", Digest: artifact.Digests{SHA256: h}},
	}
	text := digest.Checksums(l)
	if want := h + "  a/x.tar.gz\n" + h + "  b\n"; string(text) != want {
		t.Fatalf("Checksums = %q, want %q", text, want)
	}
	sums, err := digest.ParseChecksums(text)
	if err != nil || len(sums) != 2 || sums[0].Path != "a/x.tar.gz" {
		t.Fatalf("ParseChecksums = %+v, %v", sums, err)
	}
}

func TestParseChecksumsRejects(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for name, in := range map[string]string{
		"short digest":   "abc  x\n",
		"upper hex":      strings.ToUpper(h) + "  x\n",
		"one space":      h + " x\n",
		"traversal":      h + "  ../x\n",
		"absolute":       h + "  /etc/passwd\n",
		"duplicate":      h + "  x\n" + h + "  x\n",
		"blank line":     h + "  x\n\n",
		"escaped name":   "\\" + h + "  x\\\\y\n",
		"no path":        h + "  \n",
		"binary mode ok": "",
	} {
		if in == "" {
			continue
		}
		if _, err := digest.ParseChecksums([]byte(in)); err == nil {
			t.Errorf("%s: ParseChecksums accepted %q", name, in)
		}
	}
	if _, err := digest.ParseChecksums([]byte(h + " *x\n")); err != nil {
		t.Errorf("binary-mode line refused: %v", err)
	}
}

func FuzzParseChecksums(f *testing.F) {
	h := strings.Repeat("0f", 32)
	f.Add([]byte(h + "  a/b\n" + h + " *c\n"))
	f.Add([]byte(h + "  ../x\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := digest.ParseChecksums(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range sums {
			if seen[s.Path] || strings.HasPrefix(s.Path, "/") || strings.Contains("/"+s.Path+"/", "/../") {
				t.Fatalf("accepted bad entry %q", s.Path)
			}
			seen[s.Path] = true
		}
	})
}
