package safepath_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/safepath"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"artifacts/a.tar.gz", true},
		{"manifest.json", true},
		{"links/build.1234abcd.link", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../etc/passwd", false},
		{"artifacts/../../x", false},
		{"a/..", false},
		{"/etc/passwd", false},
		{"C:/x", false},
		{"a\\b", false},
		{"a//b", false},
		{"a/./b", false},
		{"a/", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\xff\xfe", false},
		{strings.Repeat("a", safepath.MaxLen+1), false},
		{"..foo", true}, // a name that merely starts with two dots is fine
	} {
		err := safepath.Check(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
		if err != nil && !errors.Is(err, safepath.ErrUnsafe) {
			t.Errorf("Check(%q) error %v does not wrap ErrUnsafe", tc.path, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "/x", "a\x00", "a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if safepath.Check(p) != nil {
			return
		}
		// An accepted path never climbs out, is never absolute and is valid UTF-8.
		if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
			t.Fatalf("accepted escaping path %q", p)
		}
	})
}
