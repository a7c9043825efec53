package version_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/version"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string // canonical form; empty when an error is expected
		channel version.Channel
		num     int
		err     error
		msg     string // a fragment the error must contain
	}{
		{in: "v1.0.0", want: "v1.0.0", channel: version.Final},
		{in: "v0.9.0", want: "v0.9.0", channel: version.Final},
		{in: "v1.0.0-rc.1", want: "v1.0.0-rc.1", channel: version.RC, num: 1},
		{in: "v1.0.0-rc.10", want: "v1.0.0-rc.10", channel: version.RC, num: 10},
		{in: "v2.3.4-beta.0", want: "v2.3.4-beta.0", channel: version.Beta},
		{in: "v10.20.30-alpha.7", want: "v10.20.30-alpha.7", channel: version.Alpha, num: 7},
		{in: "v1.0.0-rc10", err: version.ErrPrerelease, msg: "write rc.10, not rc10"},
		{in: "v1.0.0-beta2", err: version.ErrPrerelease, msg: "beta10 would sort before beta2"},
		{in: "v1.0.0-rc", err: version.ErrPrerelease, msg: `"rc"`},
		{in: "v1.0.0-rc.01", err: version.ErrPrerelease},
		{in: "v1.0.0-preview.1", err: version.ErrPrerelease, msg: "-alpha.N, -beta.N or -rc.N"},
		{in: "v1.0.0-RC.1", err: version.ErrPrerelease},
		{in: "v1.0.0-rc.1.2", err: version.ErrPrerelease},
		{in: "1.0.0", err: version.ErrNotSemver, msg: `no leading "v" (want v1.0.0)`},
		{in: "v1.0", err: version.ErrNotSemver},
		{in: "v1", err: version.ErrNotSemver},
		{in: "v1.0.0.0", err: version.ErrNotSemver},
		{in: "v01.0.0", err: version.ErrNotSemver, msg: "leading zero"},
		{in: "v1.0.0+build.5", err: version.ErrInvalid, msg: "build metadata"},
		{in: "v1.0.0 ", err: version.ErrNotSemver},
		{in: "", err: version.ErrNotSemver, msg: "empty"},
		{in: "latest", err: version.ErrNotSemver},
		{in: "v99999999999999999999.0.0", err: version.ErrNotSemver, msg: "too large"},
		{in: "v1.0.0-rc." + strings.Repeat("9", 200), err: version.ErrNotSemver, msg: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := version.Parse(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("Parse(%q) error %q does not say %q", tt.in, err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if v.String() != tt.want || v.Channel() != tt.channel || v.Number() != tt.num {
				t.Errorf("Parse(%q) = %s %q %d, want %s %q %d", tt.in, v, v.Channel(), v.Number(), tt.want, tt.channel, tt.num)
			}
			if v.IsPrerelease() != (tt.channel != version.Final) {
				t.Errorf("IsPrerelease(%s) = %v", v, v.IsPrerelease())
			}
		})
	}
}

// TestOrdering sorts a shuffled list and expects semver precedence, with numeric pre-release
// numbers: rc.2 < rc.10 < final.
func TestOrdering(t *testing.T) {
	want := []string{
		"v0.9.0", "v0.10.0", "v1.0.0-alpha.1", "v1.0.0-alpha.2", "v1.0.0-beta.1",
		"v1.0.0-rc.1", "v1.0.0-rc.2", "v1.0.0-rc.10", "v1.0.0-rc.11", "v1.0.0", "v1.0.1", "v1.10.0", "v2.0.0-rc.1",
	}
	shuffled := []string{want[7], want[12], want[0], want[9], want[3], want[6], want[1], want[11], want[5], want[2], want[10], want[4], want[8]}
	vs := make([]version.Version, len(shuffled))
	for i, s := range shuffled {
		vs[i] = version.MustParse(s)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Less(vs[j]) })
	for i, v := range vs {
		if v.String() != want[i] {
			t.Fatalf("sorted[%d] = %s, want %s (full order %v)", i, v, want[i], vs)
		}
	}
	pairs := [][2]string{{"v1.0.0-rc.2", "v1.0.0-rc.10"}, {"v1.0.0-rc.10", "v1.0.0"}, {"v1.0.0-rc.9", "v1.0.0-rc.10"}}
	for _, p := range pairs {
		a, b := version.MustParse(p[0]), version.MustParse(p[1])
		if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Equal(b) {
			t.Errorf("%s vs %s: Compare = %d / %d", a, b, a.Compare(b), b.Compare(a))
		}
	}
}

func TestCoreAndSemver(t *testing.T) {
	v := version.MustParse("v1.2.3-rc.4")
	if v.Core().String() != "v1.2.3" || v.Core().IsPrerelease() {
		t.Errorf("Core(%s) = %s", v, v.Core())
	}
	if v.Semver() != "1.2.3-rc.4" {
		t.Errorf("Semver(%s) = %q", v, v.Semver())
	}
	var zero version.Version
	if !zero.IsZero() || zero.String() != "" || v.IsZero() {
		t.Errorf("IsZero wrong: zero %v, v %v", zero.IsZero(), v.IsZero())
	}
}
