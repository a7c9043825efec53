package version_test

import (
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/version"
)

// FuzzParse checks that Parse never panics, that what it accepts round-trips through
// String, and that the ordering it induces is consistent with Core.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"v1.0.0", "v1.0.0-rc.1", "v1.0.0-rc10", "1.0", "v01.2.3", "v1.0.0+meta", "", "v0.0.0-alpha.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := version.Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error for %q", s)
			}
			return
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v.String())
		}
		again, err := version.Parse(v.String())
		if err != nil || !again.Equal(v) {
			t.Fatalf("round trip of %q: %v", s, err)
		}
		c := v.Core()
		if v.IsPrerelease() != (c.Compare(v) > 0) || strings.Contains(c.String(), "-") {
			t.Fatalf("Core(%s) = %s, order %d", v, c, c.Compare(v))
		}
	})
}
