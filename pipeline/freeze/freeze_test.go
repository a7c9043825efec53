package freeze_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

const (
	uuidSum      = "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="
	uuidGoModSum = "h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo="
	pinnedImage  = "cgr.dev/chainguard/static@sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

// modCache is one module cache for the package's tests: the proxy is asked once per module.
var modCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reliquary-freeze-modcache-")
	if err != nil {
		panic(err)
	}
	modCache = dir
	code := m.Run()
	buildtest.RemoveModCache(dir)
	os.Exit(code)
}

func localGo(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// snapshot records every file under dir, to prove Run leaves the tree alone.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		m[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFreezeAndBuildOffline(t *testing.T) {
	dir := buildtest.Project(t, "uuidapp")
	before := snapshot(t, dir)
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir, Images: []string{pinnedImage}}, freeze.WithModCache(modCache))
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); len(after) != len(before) {
		t.Errorf("freeze changed the source tree: %d files before, %d after", len(before), len(after))
	} else {
		for p, data := range before {
			if after[p] != data {
				t.Errorf("freeze changed %s", p)
			}
		}
	}
	if lock.Module != "example.com/uuidapp" || lock.Go != "1.26.1" || lock.Toolchain.Local != localGo(t) {
		t.Errorf("lock header: %+v", lock)
	}
	want := freeze.Module{Path: "github.com/google/uuid", Version: "v1.6.0", Sum: uuidSum, GoModSum: uuidGoModSum}
	if len(lock.Modules) != 1 || lock.Modules[0].Path != want.Path || lock.Modules[0].Sum != want.Sum || lock.Modules[0].GoModSum != want.GoModSum || lock.Modules[0].Replace != nil {
		t.Errorf("modules: %+v, want [%+v]", lock.Modules, want)
	}
	if len(lock.Images) != 1 || lock.Images[0].Digest != pinnedImage[strings.Index(pinnedImage, "@")+1:] {
		t.Errorf("images: %+v", lock.Images)
	}
	if err := lock.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	// The module cache now holds everything: the build runs with the proxy off.
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "app"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOMODCACHE="+modCache, "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("offline build after freeze: %v\n%s", err, out)
	}
}

func TestLockRoundTripAndTamper(t *testing.T) {
	dir := buildtest.Project(t, "uuidapp")
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "deps.lock.json")
	if err := lock.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	back, err := freeze.ReadLock(file)
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != lock.Digest {
		t.Errorf("digest changed in a round trip: %s != %s", back.Digest, lock.Digest)
	}
	// Freezing again gives the same bytes.
	again, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := lock.Marshal()
	b, _ := again.Marshal()
	if !bytes.Equal(a, b) {
		t.Errorf("two freezes of the same tree differ:\n%s\n%s", a, b)
	}
	data, _ := os.ReadFile(file)
	for _, tc := range []struct{ name, old, new, want string }{
		{"version", `"v1.6.0"`, `"v1.5.0"`, "digest"},
		{"sum", uuidSum, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "digest"},
		{"schema", freeze.Schema, "https://example.com/other", "schema"},
		{"unknown field", `"module":`, `"extra": 1, "module":`, "unknown field"},
		{"duplicate key", `"module":`, `"module": "x", "module":`, "duplicate key"},
	} {
		bad := strings.Replace(string(data), tc.old, tc.new, 1)
		if bad == string(data) {
			t.Fatalf("%s: tamper did not apply", tc.name)
		}
		if _, err := freeze.ParseLock("deps.lock.json", []byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %s", tc.name, err, tc.want)
		}
	}
}

// mutate is a change to a copy of uuidapp that makes it not frozen.
type mutate func(t *testing.T, dir string)

func editFile(old, new, file string) mutate {
	return func(t *testing.T, dir string) {
		t.Helper()
		p := filepath.Join(dir, file)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(data), old, new, 1)
		if s == string(data) {
			t.Fatalf("edit of %s did not apply", file)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// localLib adds a module outside the project's tree (a sibling directory), requires it
// with a replace, and uses it, so the only problem is the local replace.
func localLib(t *testing.T, dir string) {
	t.Helper()
	lib := filepath.Join(filepath.Dir(dir), "lib")
	buildtest.WriteFile(t, lib, "go.mod", "module example.com/lib\n\ngo 1.22\n")
	buildtest.WriteFile(t, lib, "lib.go", "package lib\n\n// Name is used by uuidapp.\nconst Name = \"lib\"\n")
	editFile("require github.com/google/uuid v1.6.0", "require (\n\texample.com/lib v0.0.0\n\tgithub.com/google/uuid v1.6.0\n)\n\nreplace example.com/lib => ../lib", "go.mod")(t, dir)
	buildtest.WriteFile(t, dir, "lib.go", "package main\n\nimport \"example.com/lib\"\n\nvar _ = lib.Name\n")
}

func TestNotFrozen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  []mutate
		images  []string
		want    map[freeze.Check]string // check -> text the problem's subject or detail names
		allowed []freeze.Check          // with these waived, Run succeeds
	}{
		{name: "missing sum", mutate: []mutate{editFile("github.com/google/uuid v1.6.0 "+uuidSum+"\n", "", "go.sum")},
			want: map[freeze.Check]string{freeze.CheckSumMissing: "github.com/google/uuid v1.6.0"}},
		{name: "untidy go.sum", mutate: []mutate{editFile("github.com/google/uuid v1.6.0/go.mod", "github.com/google/uuid v1.5.0/go.mod h1:hgUNadvp4qA2T5Qlz48Cu9Aq7xKlsQbEcvyLt+sbJmQ=\ngithub.com/google/uuid v1.6.0/go.mod", "go.sum")},
			want: map[freeze.Check]string{freeze.CheckSumExtra: "github.com/google/uuid v1.5.0"}},
		{name: "untidy go.mod", mutate: []mutate{editFile("require github.com/google/uuid v1.6.0", "require github.com/google/uuid v1.6.0 // indirect", "go.mod")},
			want: map[freeze.Check]string{freeze.CheckTidy: "would remove: require github.com/google/uuid v1.6.0 // indirect"}},
		{name: "local replace", mutate: []mutate{localLib},
			want:    map[freeze.Check]string{freeze.CheckLocalReplace: "example.com/lib => ../lib"},
			allowed: []freeze.Check{freeze.CheckLocalReplace}},
		{name: "toolchain older than the go line", mutate: []mutate{editFile("go 1.26.1", "go 1.26.1\n\ntoolchain go1.22.6", "go.mod")},
			want: map[freeze.Check]string{freeze.CheckGoDirective: "go 1.26.1 is newer than the toolchain go.mod pins go1.22.6"}},
		{name: "toolchain not a release", mutate: []mutate{editFile("go 1.26.1", "go 1.26.1\n\ntoolchain go1.99.0-custom", "go.mod")},
			want: map[freeze.Check]string{freeze.CheckToolchain: "toolchain go1.99.0-custom is not a Go release"}},
		{name: "go directive too new", mutate: []mutate{editFile("go 1.26.1", "go 1.99.0", "go.mod")},
			want: map[freeze.Check]string{freeze.CheckToolchain: "go1.99.0"}},
		{name: "unpinned image", images: []string{"alpine:3.19", pinnedImage},
			want: map[freeze.Check]string{freeze.CheckImage: "alpine:3.19"}},
		{name: "every problem at once", images: []string{"golang:1.26"},
			mutate: []mutate{localLib, editFile("github.com/google/uuid v1.6.0 "+uuidSum+"\n", "", "go.sum")},
			want: map[freeze.Check]string{freeze.CheckSumMissing: "github.com/google/uuid v1.6.0",
				freeze.CheckLocalReplace: "example.com/lib", freeze.CheckImage: "golang:1.26"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildtest.Project(t, "uuidapp")
			for _, m := range tc.mutate {
				m(t, dir)
			}
			before := snapshot(t, dir)
			_, err := freeze.Run(context.Background(), freeze.Input{Dir: dir, Images: tc.images}, freeze.WithModCache(modCache))
			var nf *freeze.NotFrozenError
			if !errors.As(err, &nf) || !errors.Is(err, freeze.ErrNotFrozen) {
				t.Fatalf("got %v, want a NotFrozenError", err)
			}
			for check, text := range tc.want {
				if !nf.Has(check) {
					t.Errorf("no %s problem in:\n%v", check, err)
				}
				if !strings.Contains(err.Error(), text) {
					t.Errorf("error does not name %q:\n%v", text, err)
				}
			}
			for _, p := range nf.Problems {
				if _, ok := tc.want[p.Check]; !ok {
					t.Errorf("unexpected problem %s", p)
				}
			}
			if after := snapshot(t, dir); len(after) != len(before) || after[filepath.Join(dir, "go.sum")] != before[filepath.Join(dir, "go.sum")] {
				t.Errorf("freeze changed the source tree")
			}
			if tc.allowed == nil {
				return
			}
			lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir, Images: tc.images},
				freeze.WithModCache(modCache), freeze.Allow(tc.allowed...))
			if err != nil {
				t.Fatalf("with %v allowed: %v", tc.allowed, err)
			}
			if len(lock.Allowed) != len(tc.allowed) || len(lock.Waived) == 0 {
				t.Errorf("waiver not recorded: allowed %v waived %v", lock.Allowed, lock.Waived)
			}
		})
	}
}

func TestLocalReplaceRecorded(t *testing.T) {
	dir := buildtest.Project(t, "uuidapp")
	localLib(t, dir)
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache), freeze.Allow(freeze.CheckLocalReplace))
	if err != nil {
		t.Fatal(err)
	}
	var lib *freeze.Module
	for i := range lock.Modules {
		if lock.Modules[i].Path == "example.com/lib" {
			lib = &lock.Modules[i]
		}
	}
	if lib == nil || lib.Replace == nil || !lib.Replace.Local || !lib.Replace.Outside || lib.Replace.Path != "../lib" || !strings.HasPrefix(lib.Sum, "h1:") {
		t.Fatalf("local replacement not recorded: %+v", lib)
	}
	// The recorded hash pins the replacement's content.
	buildtest.WriteFile(t, filepath.Join(filepath.Dir(dir), "lib"), "lib.go", "package lib\n\nconst Name = \"changed\"\n")
	again, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache), freeze.Allow(freeze.CheckLocalReplace))
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest == lock.Digest {
		t.Error("changing the local replacement did not change the lock digest")
	}
}

func TestLocalReplaceInsideTreeIsFine(t *testing.T) {
	dir := buildtest.Project(t, "uuidapp")
	buildtest.WriteFile(t, dir, "third_party/lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
	buildtest.WriteFile(t, dir, "third_party/lib/lib.go", "package lib\n\nconst Name = \"lib\"\n")
	editFile("require github.com/google/uuid v1.6.0", "require (\n\texample.com/lib v0.0.0\n\tgithub.com/google/uuid v1.6.0\n)\n\nreplace example.com/lib => ./third_party/lib", "go.mod")(t, dir)
	buildtest.WriteFile(t, dir, "lib.go", "package main\n\nimport \"example.com/lib\"\n\nvar _ = lib.Name\n")
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache))
	if err != nil {
		t.Fatal(err)
	}
	if len(lock.Allowed) != 0 || len(lock.Waived) != 0 {
		t.Errorf("a replace inside the tree needed a waiver: %+v", lock)
	}
}

func TestTamperedModuleCache(t *testing.T) {
	cache := buildtest.ModCache(t)
	dir := buildtest.Project(t, "uuidapp")
	if _, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(cache)); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(cache, "github.com", "google", "uuid@v1.6.0", "uuid.go")
	if err := os.Chmod(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("package uuid // tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(cache))
	var nf *freeze.NotFrozenError
	if !errors.As(err, &nf) || !nf.Has(freeze.CheckVerify) || !strings.Contains(err.Error(), "github.com/google/uuid v1.6.0") {
		t.Fatalf("got %v, want a go-mod-verify problem naming the module", err)
	}
}

func TestAllowRefusesUnwaivableChecks(t *testing.T) {
	for _, c := range []freeze.Check{freeze.CheckSumMissing, freeze.CheckVerify, freeze.CheckImage, freeze.CheckToolchain, "no-such-check"} {
		_, err := freeze.Run(context.Background(), freeze.Input{Dir: t.TempDir()}, freeze.Allow(c))
		if err == nil || !strings.Contains(err.Error(), "cannot be waived") {
			t.Errorf("Allow(%s): got %v", c, err)
		}
	}
}

func TestNotAModule(t *testing.T) {
	_, err := freeze.Run(context.Background(), freeze.Input{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not a Go module root") {
		t.Errorf("got %v", err)
	}
}

func TestNoDependencies(t *testing.T) {
	dir := buildtest.Project(t, "multi")
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithModCache(modCache))
	if err != nil {
		t.Fatal(err)
	}
	if len(lock.Modules) != 0 || lock.Files.GoSum != "" || lock.Module != "example.com/multi" {
		t.Errorf("lock %+v", lock)
	}
	if err := lock.Validate(); err != nil {
		t.Error(err)
	}
}

// TestVerifyMemo: a second freeze of an unchanged module cache skips go mod verify and gives
// the same lock; a module file rewritten with its size and modification time kept (only its
// change time tells) is verified again and refused, and the refusal is not remembered.
func TestVerifyMemo(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the memo needs change times")
	}
	cache, memo := buildtest.ModCache(t), t.TempDir()
	dir := buildtest.Project(t, "uuidapp")
	opts := []freeze.Option{freeze.WithModCache(cache), freeze.WithVerifyMemo(memo)}
	first, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	second, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if first.VerifiedFromMemo() || !second.VerifiedFromMemo() || first.Digest != second.Digest {
		t.Fatalf("memo hits %v then %v, digests %s %s: want a miss, then a hit with the same lock", first.VerifiedFromMemo(), second.VerifiedFromMemo(), first.Digest, second.Digest)
	}
	entries, _ := os.ReadDir(memo)

	src := filepath.Join(cache, "github.com", "google", "uuid@v1.6.0", "uuid.go")
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Repeat([]byte("/"), int(fi.Size()))
	copy(tampered, "package uuid\n//")
	if err := os.Chmod(src, 0o644); err != nil { // the file only: the directory is left as it was
		t.Fatal(err)
	}
	if err := os.WriteFile(src, tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(src); after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) || after.Mode() != fi.Mode() {
		t.Fatalf("the tampered file does not look the same: %v %v", after, fi)
	}
	_, err = freeze.Run(context.Background(), freeze.Input{Dir: dir}, opts...)
	var nf *freeze.NotFrozenError
	if !errors.As(err, &nf) || !nf.Has(freeze.CheckVerify) {
		t.Fatalf("after tampering: got %v, want a go-mod-verify problem", err)
	}
	if after, _ := os.ReadDir(memo); len(after) != len(entries) {
		t.Errorf("the memo grew from %d to %d entries on a failed check", len(entries), len(after))
	}
}
