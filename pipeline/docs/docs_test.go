package docs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/docs"
)

var commitTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func names(es []archive.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	dir := buildtest.Project(t, "multi")
	buildtest.WriteFile(t, dir, "readme.ja.txt", "lower-case readme\n")
	buildtest.WriteFile(t, dir, "docs/img/logo.txt", "logo\n")
	for _, tc := range []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"defaults", []string{"README*", "CHANGELOG*", "LICENSE*", "docs/"},
			[]string{"CHANGELOG.md", "LICENSE", "README.md", "docs", "docs/guide.md", "docs/img", "docs/img/logo.txt", "readme.ja.txt"}},
		{"glob with a slash", []string{"docs/*.md"}, []string{"docs/guide.md"}},
		{"overlap", []string{"README.md", "readme*", "README*"}, []string{"README.md", "readme.ja.txt"}},
		{"nothing matches", []string{"NOTICE*", "missing/"}, nil},
		{"root pattern skips directories", []string{"doc*"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := docs.Select(dir, tc.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(es); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectRefuses(t *testing.T) {
	dir := buildtest.Project(t, "multi")
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "README.link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ pattern, want string }{
		{"README*", "not a regular file"},
		{"../*", "climbs out"},
		{"/etc/", "absolute"},
		{"README.md/", "not a directory"},
		{"[", "syntax error"},
	} {
		_, err := docs.Select(dir, []string{tc.pattern})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.pattern, err, tc.want)
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	a := buildtest.Project(t, "multi")
	b := buildtest.Project(t, "multi")
	old := time.Unix(1e9, 0)
	if err := os.Chtimes(filepath.Join(b, "README.md"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(b, "LICENSE"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var files [2][]byte
	for i, src := range []string{a, b} {
		name := filepath.Join(out, []string{"a.tar.gz", "b.tar.gz"}[i])
		n, err := docs.Write(docs.Input{Source: src, Out: name, Time: commitTime})
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("%d files, want 4 (README, CHANGELOG, LICENSE, docs/guide.md)", n)
		}
		if files[i], err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("docs bundles of the same content differ")
	}
	ms, err := archive.ListTarGz(bytes.NewReader(files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || ms[0].Name != "CHANGELOG.md" || ms[3].Name != "docs/" {
		t.Errorf("members %+v", ms)
	}
}

func TestWriteNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "docs.tar.gz")
	n, err := docs.Write(docs.Input{Source: t.TempDir(), Out: out, Time: commitTime})
	if err != nil || n != 0 {
		t.Fatalf("empty tree: %d, %v", n, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a docs bundle was written for an empty tree: %v", err)
	}
}
