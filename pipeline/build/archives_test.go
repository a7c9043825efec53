package build_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// listTree maps every path under dir to its mode.
func listTree(t *testing.T, dir string) map[string]fs.FileMode {
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
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestArchivesExtractWithSystemTools(t *testing.T) {
	o := sharedBuild(t)
	exe, doc := fs.FileMode(0o755), fs.FileMode(0o644)
	dir := fs.ModeDir | 0o755
	for _, tc := range []struct {
		name string
		tool []string
		want map[string]fs.FileMode
	}{
		{"multi_v1.0.0_linux_amd64.tar.gz", []string{"tar", "-xzf"}, map[string]fs.FileMode{"alpha": exe, "beta": exe, "LICENSE": doc, "README.md": doc}},
		{"multi_v1.0.0_linux_arm64.tar.gz", []string{"tar", "-xzf"}, map[string]fs.FileMode{"alpha": exe, "beta": exe, "LICENSE": doc, "README.md": doc}},
		{"multi_v1.0.0_windows_amd64.zip", []string{"unzip", "-q"}, map[string]fs.FileMode{"alpha.exe": exe, "beta.exe": exe, "LICENSE": doc, "README.md": doc}},
		{"multi_v1.0.0_docs.tar.gz", []string{"tar", "-xzf"}, map[string]fs.FileMode{"CHANGELOG.md": doc, "LICENSE": doc, "README.md": doc, "docs": dir, "docs/guide.md": doc}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool[0]); err != nil {
				t.Skipf("%s not installed", tc.tool[0])
			}
			out := t.TempDir()
			old := syscall.Umask(0) // see the archive's modes, not the umask's
			cmd := exec.Command(tc.tool[0], append(tc.tool[1:], artifactPath(o, tc.name))...)
			cmd.Dir = out
			msg, err := cmd.CombinedOutput()
			syscall.Umask(old)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tc.tool, err, msg)
			}
			if got := listTree(t, out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("extracted %v, want %v", got, tc.want)
			}
			// The files are the built ones: the license is the project's, byte for byte.
			lic, _ := os.ReadFile(filepath.Join(out, "LICENSE"))
			src, _ := os.ReadFile(filepath.Join(scratch, "a", "multi", "LICENSE"))
			if string(lic) != string(src) {
				t.Errorf("LICENSE differs from the source")
			}
		})
	}
}
