package freeze_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// oldToolchain is the toolchain the tests pin: older than any local Go that builds reliquary.
const oldToolchain = "go1.22.6"

// pinnedModule writes a module without dependencies whose go.mod pins oldToolchain.
func pinnedModule(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "hello")
	buildtest.WriteFile(t, dir, "go.mod", "module example.com/hello\n\ngo 1.22\n\ntoolchain "+oldToolchain+"\n")
	buildtest.WriteFile(t, dir, "main.go", "package main\n\nfunc main() { println(\"hello\") }\n")
	return dir
}

// TestPinnedToolchain: go.mod's toolchain line decides the build toolchain. Freeze fetches it
// for this host through the module proxy (into the default module cache, so later runs do
// not download it again) and records version, module and hash; --toolchain local records
// the local one and that the user chose it.
func TestPinnedToolchain(t *testing.T) {
	buildtest.NeedToolchain(t, oldToolchain)
	dir := pinnedModule(t)
	lock, err := freeze.Run(context.Background(), freeze.Input{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := lock.Toolchain.Pinned
	wantMod := freeze.ToolchainModule + "@" + freeze.ToolchainVersion(oldToolchain, runtime.GOOS, runtime.GOARCH)
	if p == nil || p.Version != oldToolchain || p.Module != wantMod || !strings.HasPrefix(p.Sum, "h1:") ||
		lock.Toolchain.Local != "" || lock.Toolchain.Directive != oldToolchain || lock.Toolchain.GOTOOLCHAIN() != oldToolchain {
		t.Fatalf("lock toolchain %+v pinned %+v, want %s as %s", lock.Toolchain, p, oldToolchain, wantMod)
	}
	// The hash is the checksum database's: the go command's own record of the zip agrees.
	zipHash, err := os.ReadFile(filepath.Join(goEnv(t, "GOMODCACHE"), "cache", "download", freeze.ToolchainModule, "@v", strings.TrimPrefix(wantMod, freeze.ToolchainModule+"@")+".ziphash"))
	if err != nil || strings.TrimSpace(string(zipHash)) != p.Sum {
		t.Errorf("lock sum %s, the module cache's ziphash %q (%v)", p.Sum, zipHash, err)
	}

	local, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithToolchain(freeze.ToolchainLocal))
	if err != nil {
		t.Fatal(err)
	}
	if tc := local.Toolchain; tc.Pinned != nil || tc.Local != localGo(t) || tc.Mode != freeze.ToolchainLocal || tc.GOTOOLCHAIN() != "local" || local.Digest == lock.Digest {
		t.Errorf("--toolchain local: %+v", tc)
	}
}

// TestToolchainLocalGoLineTooNew: with the local toolchain chosen, a go line newer than it
// is still refused (nothing is fetched).
func TestToolchainLocalGoLineTooNew(t *testing.T) {
	dir := pinnedModule(t)
	buildtest.WriteFile(t, dir, "go.mod", "module example.com/hello\n\ngo 1.99.0\n")
	_, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithToolchain(freeze.ToolchainLocal))
	var nf *freeze.NotFrozenError
	if !errors.As(err, &nf) || !nf.Has(freeze.CheckGoDirective) || !strings.Contains(err.Error(), "newer than the local toolchain") {
		t.Fatalf("got %v, want a go-directive problem", err)
	}
	if _, err := freeze.Run(context.Background(), freeze.Input{Dir: dir}, freeze.WithToolchain("go1.22.6")); err == nil {
		t.Error("an unknown toolchain mode was accepted")
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestVerifyToolchain: the build runs a pinned toolchain only when the module cache's copy
// hashes to the lock's sum (computed here by golang.org/x/mod's dirhash, as the checksum
// database has it: without the go.mod copies the go command makes of _go.mod files).
func TestVerifyToolchain(t *testing.T) {
	cache := t.TempDir()
	mod := freeze.ToolchainModule + "@" + freeze.ToolchainVersion(oldToolchain, "linux", "amd64")
	dir := filepath.Join(cache, filepath.FromSlash(mod))
	files := map[string]string{"bin/go": "binary", "src/_go.mod": "module std\n", "src/cmd/_go.mod": "module cmd\n", "VERSION": oldToolchain}
	var names []string
	for name, data := range files {
		buildtest.WriteFile(t, dir, name, data)
		names = append(names, mod+"/"+name)
	}
	sum, err := dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(dir, strings.TrimPrefix(name, mod+"/")))
	})
	if err != nil {
		t.Fatal(err)
	}
	buildtest.WriteFile(t, dir, "src/go.mod", "module std\n") // the go command's copy
	pinned := &freeze.Pinned{Version: oldToolchain, Module: mod, Sum: sum}
	if err := freeze.VerifyToolchain(cache, "linux", "amd64", pinned); err != nil {
		t.Fatalf("an intact toolchain: %v", err)
	}
	for _, tc := range []struct {
		name, file, data, goos, want string
	}{
		{name: "binary changed", file: "bin/go", data: "evil", goos: "linux", want: "hashes to"},
		{name: "file added", file: "pkg/tool/extra", data: "x", goos: "linux", want: "hashes to"},
		{name: "go.mod copy differs", file: "src/cmd/go.mod", data: "module evil\n", goos: "linux", want: "differs from the _go.mod"},
		{name: "other host", goos: "darwin", want: "this host needs " + freeze.ToolchainModule + "@v0.0.1-go1.22.6.darwin-amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.file != "" {
				p := filepath.Join(dir, filepath.FromSlash(tc.file))
				old, _ := os.ReadFile(p)
				buildtest.WriteFile(t, dir, tc.file, tc.data)
				defer func() {
					if old == nil {
						os.Remove(p)
					} else {
						os.WriteFile(p, old, 0o644)
					}
				}()
			}
			err := freeze.VerifyToolchain(cache, tc.goos, "amd64", pinned)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
	if err := freeze.VerifyToolchain(cache, "linux", "amd64", pinned); err != nil {
		t.Fatalf("restored: %v", err)
	}
}

// TestLockToolchainField: the lock's toolchain is the local one or a pinned one, never both
// or neither, and a pinned one is fully named; locks from before pinned toolchains (a
// waived toolchain check) still read.
func TestLockToolchainField(t *testing.T) {
	pinned := &freeze.Pinned{Version: oldToolchain, Module: freeze.ToolchainModule + "@v0.0.1-go1.22.6.linux-amd64", Sum: uuidSum}
	for _, tc := range []struct {
		name string
		tc   freeze.Toolchain
		want string // "" when valid
	}{
		{name: "local", tc: freeze.Toolchain{Local: "go1.26.8"}},
		{name: "local chosen", tc: freeze.Toolchain{Directive: oldToolchain, Local: "go1.26.8", Mode: "local"}},
		{name: "pinned", tc: freeze.Toolchain{Directive: oldToolchain, Pinned: pinned}},
		{name: "neither", tc: freeze.Toolchain{}, want: "exactly one"},
		{name: "both", tc: freeze.Toolchain{Local: "go1.26.8", Pinned: pinned}, want: "exactly one"},
		{name: "mode without local", tc: freeze.Toolchain{Pinned: pinned, Mode: "local"}, want: "toolchain.mode"},
		{name: "unknown mode", tc: freeze.Toolchain{Local: "go1.26.8", Mode: "auto"}, want: "toolchain.mode"},
		{name: "local not a version", tc: freeze.Toolchain{Local: "devel"}, want: "toolchain.local"},
		{name: "pinned not a version", tc: freeze.Toolchain{Pinned: &freeze.Pinned{Version: "1.22.6", Module: pinned.Module, Sum: uuidSum}}, want: "toolchain.pinned.version"},
		{name: "module of another version", tc: freeze.Toolchain{Pinned: &freeze.Pinned{Version: "go1.22.7", Module: pinned.Module, Sum: uuidSum}}, want: "toolchain.pinned.module"},
		{name: "module without host", tc: freeze.Toolchain{Pinned: &freeze.Pinned{Version: oldToolchain, Module: "golang.org/toolchain@v0.0.1-go1.22.6", Sum: uuidSum}}, want: "toolchain.pinned.module"},
		{name: "other module", tc: freeze.Toolchain{Pinned: &freeze.Pinned{Version: oldToolchain, Module: "example.com/toolchain@v0.0.1-go1.22.6.linux-amd64", Sum: uuidSum}}, want: "toolchain.pinned.module"},
		{name: "no sum", tc: freeze.Toolchain{Pinned: &freeze.Pinned{Version: oldToolchain, Module: pinned.Module}}, want: "toolchain.pinned.sum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &freeze.Lock{Schema: freeze.Schema, Module: "example.com/m", Go: "1.22", Toolchain: tc.tc,
				Files: freeze.Files{GoMod: "sha256:" + string(make64('a'))}, Modules: []freeze.Module{}}
			if err := l.Seal(); err != nil {
				t.Fatal(err)
			}
			err := l.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	old := `{"schema":"` + freeze.Schema + `","module":"example.com/m","go":"1.26.1","toolchain":{"directive":"go1.26.0","local":"go1.26.8"},` +
		`"files":{"goMod":"sha256:` + string(make64('a')) + `"},"modules":[],"allowed":["toolchain"],` +
		`"waived":[{"check":"toolchain","subject":"go.mod","detail":"toolchain go1.26.0"}],"digest":"DIGEST"}`
	l := &freeze.Lock{}
	if err := json.Unmarshal([]byte(old), l); err != nil {
		t.Fatal(err)
	}
	d, _ := l.ComputeDigest()
	if _, err := freeze.ParseLock("old.json", []byte(strings.Replace(old, "DIGEST", d, 1))); err != nil {
		t.Errorf("a lock with a waived toolchain check no longer reads: %v", err)
	}
}

// TestSameSet: a pinned toolchain differs between hosts only in module and hash.
func TestSameSet(t *testing.T) {
	mk := func(host, sum, version string) *freeze.Lock {
		l := &freeze.Lock{Schema: freeze.Schema, Module: "example.com/m", Go: "1.22", Files: freeze.Files{GoMod: "sha256:" + string(make64('a'))}, Modules: []freeze.Module{},
			Toolchain: freeze.Toolchain{Pinned: &freeze.Pinned{Version: version, Module: freeze.ToolchainModule + "@v0.0.1-" + version + "." + host, Sum: sum}}}
		if err := l.Seal(); err != nil {
			t.Fatal(err)
		}
		return l
	}
	linux := mk("linux-amd64", uuidSum, oldToolchain)
	for _, tc := range []struct {
		name string
		b    *freeze.Lock
		want bool
	}{
		{"same", mk("linux-amd64", uuidSum, oldToolchain), true},
		{"other host", mk("darwin-arm64", uuidGoModSum, oldToolchain), true},
		{"same host, other hash", mk("linux-amd64", uuidGoModSum, oldToolchain), false},
		{"other version", mk("darwin-arm64", uuidGoModSum, "go1.22.7"), false},
	} {
		if got := freeze.SameSet(linux, tc.b); got != tc.want {
			t.Errorf("%s: SameSet %v, want %v", tc.name, got, tc.want)
		}
	}
}
