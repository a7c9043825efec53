package build_test

import (
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build"
)

// FuzzParsePlatform: a platform string parses into a platform that prints back as the same
// string and parses again to the same value, or fails with an error; never a panic.
func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm/v7", "windows/amd64", "darwin/arm64", "linux//amd64", "../x", "linux/amd64/v1/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := build.ParsePlatform(s)
		if err != nil {
			return
		}
		if p.OS == "" || p.Arch == "" || strings.ContainsAny(p.OS+p.Arch+p.Variant, "/\\. \x00") {
			t.Fatalf("%q parsed into %#v", s, p)
		}
		if p.String() != s {
			t.Fatalf("%q prints back as %q", s, p.String())
		}
		if q, err := build.ParsePlatform(p.String()); err != nil || q != p {
			t.Fatalf("%q does not parse back: %#v %v", p.String(), q, err)
		}
	})
}
