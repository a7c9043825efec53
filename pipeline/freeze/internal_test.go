package freeze

import (
	"reflect"
	"testing"
)

func TestGoVersionOrder(t *testing.T) {
	ordered := []string{"1.21", "1.21rc1", "1.21rc2", "1.21.0", "1.21.1", "go1.26.8", "1.27beta1", "1.27rc1", "1.27.0", "2.0"}
	for i := 1; i < len(ordered); i++ {
		a, ok1 := goVersionKey(ordered[i-1])
		b, ok2 := goVersionKey(ordered[i])
		if !ok1 || !ok2 || !goVersionLess(a, b) || goVersionLess(b, a) {
			t.Errorf("%s < %s does not hold", ordered[i-1], ordered[i])
		}
	}
	if _, ok := goVersionKey("devel go1.27-abc"); ok {
		t.Error("a devel version parsed")
	}
}

func TestParseTidyDiff(t *testing.T) {
	out := "diff current/go.mod tidy/go.mod\n--- current/go.mod\n+++ tidy/go.mod\n@@ -3,3 +3,3 @@\n go 1.26.1\n \n-require a v1.0.0 // indirect\n+require a v1.0.0\n" +
		"diff current/go.sum tidy/go.sum\n--- current/go.sum\n+++ tidy/go.sum\n@@ -1,2 +1,2 @@\n-b v1.0.0/go.mod h1:x=\n+a v1.0.0 h1:y=\n a v1.0.0/go.mod h1:z=\n"
	d, err := parseTidyDiff([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := tidyDiff{modAdd: []string{"require a v1.0.0"}, modDel: []string{"require a v1.0.0 // indirect"},
		sumAdd: []string{"a v1.0.0 h1:y="}, sumDel: []string{"b v1.0.0/go.mod h1:x="}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
	ps := d.problems()
	if len(ps) != 4 || ps[0].Check != CheckSumMissing || ps[0].Subject != "a v1.0.0" || ps[1].Subject != "b v1.0.0/go.mod" {
		t.Errorf("problems %v", ps)
	}
	if _, err := parseTidyDiff([]byte("+stray line\n")); err == nil {
		t.Error("a line outside any file section was accepted")
	}
}

// FuzzParseTidyDiff: the go command's output is parsed, so it is fuzzed like any input.
func FuzzParseTidyDiff(f *testing.F) {
	f.Add([]byte("diff current/go.sum tidy/go.sum\n--- current/go.sum\n+++ tidy/go.sum\n@@ -1 +1 @@\n+a v1 h1:x=\n-b v1 h1:y=\n"))
	f.Add([]byte("diff x\n+\n-\n \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseTidyDiff(data)
		if err == nil {
			_ = d.problems()
		}
	})
}

// TestWantToolchain: the toolchain go.mod pins, read as the go command reads it, except that
// a toolchain line is taken exactly, also when it is older than the local Go.
func TestWantToolchain(t *testing.T) {
	const local = "go1.26.8"
	for _, tc := range []struct{ goLine, toolchain, want string }{
		{"1.22", "go1.22.6", "go1.22.6"},
		{"1.26.1", "go1.26.9", "go1.26.9"},
		{"1.26.1", "go1.26.8", ""},
		{"1.26.1", "default", ""},
		{"1.26.1", "", ""},
		{"1.26.8", "", ""},
		{"1.26.9", "", "go1.26.9"},
		{"1.27", "", "go1.27.0"},
		{"1.27rc1", "", "go1.27rc1"},
		{"1.27.0", "default", ""},
	} {
		if got := wantToolchain(modFile{Go: tc.goLine, Toolchain: tc.toolchain}, local); got != tc.want {
			t.Errorf("go %s toolchain %q: %q, want %q", tc.goLine, tc.toolchain, got, tc.want)
		}
	}
}
