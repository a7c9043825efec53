package archive_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/archive"
)

var commitTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// tree is a small project-like tree: an executable, plain files, nested directories.
var tree = map[string]struct {
	data string
	exec bool
}{
	"bin/tool":         {"#!/bin/sh\necho tool\n", true},
	"README.md":        {"# readme\n", false},
	"docs/guide.md":    {"guide\n", false},
	"docs/deep/a.txt":  {"a\n", false},
	"LICENSE":          {"license text\n", false},
	"docs/deep/run.sh": {"#!/bin/sh\n", true},
}

// makeTree writes tree under a new temp dir with the given umask and mtime and returns it.
func makeTree(t *testing.T, umask int, mtime time.Time) string {
	t.Helper()
	old := syscall.Umask(umask)
	defer syscall.Umask(old)
	dir := t.TempDir()
	for name, f := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		perm := os.FileMode(0o666)
		if f.exec {
			perm = 0o777
		}
		if err := os.WriteFile(p, []byte(f.data), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func entries(t *testing.T, dir string) []archive.Entry {
	t.Helper()
	es, err := archive.DirEntries("", dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantTime is the time an archive of this kind stores for commitTime: zip's MS-DOS fields
// have two-second resolution.
func wantTime(ext string) time.Time {
	if ext == ".zip" {
		return commitTime.Truncate(2 * time.Second)
	}
	return commitTime
}

type writer func(*bytes.Buffer, []archive.Entry, time.Time) error

var writers = []struct {
	ext   string
	write writer
}{
	{".tar.gz", func(b *bytes.Buffer, e []archive.Entry, t time.Time) error { return archive.WriteTarGz(b, e, t) }},
	{".tar", func(b *bytes.Buffer, e []archive.Entry, t time.Time) error { return archive.WriteTar(b, e, t) }},
	{".zip", func(b *bytes.Buffer, e []archive.Entry, t time.Time) error { return archive.WriteZip(b, e, t) }},
}

func TestDeterministicAcrossMtimeAndUmask(t *testing.T) {
	a := makeTree(t, 0o022, time.Now())
	b := makeTree(t, 0o077, time.Unix(12345, 0))
	// Reverse the entry order of one side: the writers sort.
	eb := entries(t, b)
	sort.Slice(eb, func(i, j int) bool { return eb[i].Name > eb[j].Name })
	for _, w := range writers {
		var ba, bb bytes.Buffer
		if err := w.write(&ba, entries(t, a), commitTime); err != nil {
			t.Fatal(err)
		}
		if err := w.write(&bb, eb, commitTime); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
			t.Errorf("%s: archives of the same content differ with different mtimes/umask", w.ext)
		}
		var bc bytes.Buffer
		if err := w.write(&bc, entries(t, a), commitTime.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(ba.Bytes(), bc.Bytes()) {
			t.Errorf("%s: the commit time does not reach the archive", w.ext)
		}
	}
}

// want is the exact listing an extraction must give: every file and directory with its mode.
func want() map[string]fs.FileMode {
	m := map[string]fs.FileMode{}
	for name, f := range tree {
		m[name] = 0o644
		if f.exec {
			m[name] = 0o755
		}
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			m[d] = fs.ModeDir | 0o755
		}
	}
	return m
}

// extracted lists dir the way want does, checking file contents against tree and file
// times against mtime.
func extracted(t *testing.T, dir string, mtime time.Time) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = fi.Mode()
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if string(data) != tree[filepath.ToSlash(rel)].data {
				t.Errorf("%s: content %q", rel, data)
			}
		}
		if !fi.ModTime().Equal(mtime) && !fi.IsDir() {
			t.Errorf("%s: mtime %s, want %s", rel, fi.ModTime().UTC(), mtime)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSystemToolsExtractExactly(t *testing.T) {
	src := makeTree(t, 0o077, time.Now())
	tools := map[string][]string{".tar.gz": {"tar", "-xzf"}, ".tar": {"tar", "-xf"}, ".zip": {"unzip", "-q"}}
	for _, w := range writers {
		t.Run(w.ext, func(t *testing.T) {
			tool := tools[w.ext]
			if _, err := exec.LookPath(tool[0]); err != nil {
				t.Skipf("%s not installed: %v", tool[0], err)
			}
			var buf bytes.Buffer
			if err := w.write(&buf, entries(t, src), commitTime); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "a"+w.ext)
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			// Umask 0 so that the modes seen are the archive's, not the extractor's defaults.
			old := syscall.Umask(0)
			cmd := exec.Command(tool[0], append(tool[1:], file)...)
			cmd.Dir = out
			cmd.Env = append(os.Environ(), "TZ=UTC") // unzip reads MS-DOS times as local time
			msg, err := cmd.CombinedOutput()
			syscall.Umask(old)
			if err != nil {
				t.Fatalf("%s: %v\n%s", tool, err, msg)
			}
			got, exp := extracted(t, out, wantTime(w.ext)), want()
			for name, mode := range exp {
				if got[name] != mode {
					t.Errorf("%s: mode %v, want %v", name, got[name], mode)
				}
			}
			for name := range got {
				if _, ok := exp[name]; !ok {
					t.Errorf("unexpected %s in the extraction", name)
				}
			}
		})
	}
}

func TestHeadersNormalized(t *testing.T) {
	src := makeTree(t, 0o022, time.Now())
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf, entries(t, src), commitTime); err != nil {
			t.Fatal(err)
		}
		if w.ext == ".tar.gz" {
			h := buf.Bytes()[:10]
			if h[3] != 0 || !bytes.Equal(h[4:8], []byte{0, 0, 0, 0}) {
				t.Errorf("gzip header flags %#x mtime % x: want no name and zero time", h[3], h[4:8])
			}
		}
		file := filepath.Join(t.TempDir(), "a"+w.ext)
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		ms, err := archive.List(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(want()) {
			t.Errorf("%s: %d members, want %d", w.ext, len(ms), len(want()))
		}
		for i, m := range ms {
			if i > 0 && ms[i-1].Name >= m.Name {
				t.Errorf("%s: not sorted: %q before %q", w.ext, ms[i-1].Name, m.Name)
			}
			if m.UID != 0 || m.GID != 0 || m.Owner != "" || m.Extra != "" {
				t.Errorf("%s: %s: owner %d:%d %q extra %q", w.ext, m.Name, m.UID, m.GID, m.Owner, m.Extra)
			}
			if !m.ModTime.Equal(wantTime(w.ext)) {
				t.Errorf("%s: %s: mtime %s", w.ext, m.Name, m.ModTime)
			}
		}
	}
}

func TestZipClampsToDOSEpoch(t *testing.T) {
	var buf bytes.Buffer
	if err := archive.WriteZip(&buf, []archive.Entry{{Name: "a", Data: []byte("x")}}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	ms, err := archive.ListZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !ms[0].ModTime.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("mtime %s, want 1980-01-01", ms[0].ModTime)
	}
}

func TestBadEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []archive.Entry
		want    error
		wantMsg string
	}{
		{"duplicate", []archive.Entry{{Name: "a"}, {Name: "a"}}, archive.ErrDuplicate, ""},
		{"climb", []archive.Entry{{Name: "../a"}}, safepath.ErrUnsafe, ""},
		{"absolute", []archive.Entry{{Name: "/etc/passwd"}}, safepath.ErrUnsafe, ""},
		{"file as parent", []archive.Entry{{Name: "a"}, {Name: "a/b"}}, nil, "is a file and the parent"},
		{"missing file", []archive.Entry{{Name: "a", Path: "/nonexistent/file"}}, fs.ErrNotExist, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := archive.WriteTarGz(&bytes.Buffer{}, tc.entries, commitTime)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
		})
	}
}

func TestSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.DirEntries("", dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink: got %v, want a refusal", err)
	}
}

func TestFirstDiff(t *testing.T) {
	base := []archive.Entry{{Name: "a", Data: []byte("1")}, {Name: "b", Data: []byte("2")}}
	changed := []archive.Entry{{Name: "a", Data: []byte("1")}, {Name: "b", Data: []byte("3")}}
	list := func(es []archive.Entry) []archive.Member {
		var buf bytes.Buffer
		if err := archive.WriteTarGz(&buf, es, commitTime); err != nil {
			t.Fatal(err)
		}
		ms, err := archive.ListTarGz(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if d := archive.FirstDiff(list(base), list(base)); d != nil {
		t.Errorf("equal archives: %+v", d)
	}
	d := archive.FirstDiff(list(base), list(changed))
	if d == nil || d.Name != "b" || d.Index != 1 || !strings.Contains(d.Detail, "content") {
		t.Errorf("changed content: %+v", d)
	}
	d = archive.FirstDiff(list(base), list(base[:1]))
	if d == nil || d.Name != "b" || !strings.Contains(d.Detail, "only in the first") {
		t.Errorf("missing member: %+v", d)
	}
}
