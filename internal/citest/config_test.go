package citest_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

const (
	rootModule    = "github.com/sentientos/reliquary"
	ciModule      = rootModule + "/ci"
	testsModule   = ciModule + "/tests"
	engineVersion = "v0.21.8"
	// maxGoLine is the newest go directive Dagger v0.21.8's codegen accepts.
	maxGoLine = "1.26.1"
)

// root is the repository root, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// daggerConfig is the part of dagger.json these tests check.
type daggerConfig struct {
	Name          string `json:"name"`
	EngineVersion string `json:"engineVersion"`
	SDK           struct {
		Source string `json:"source"`
	} `json:"sdk"`
	Source       string   `json:"source"`
	Include      []string `json:"include"`
	Dependencies []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"dependencies"`
	DisableDefaultFunctionCaching bool `json:"disableDefaultFunctionCaching"`
}

func loadDaggerConfig(t *testing.T, rel string) daggerConfig {
	t.Helper()
	var c daggerConfig
	if err := json.Unmarshal(readFile(t, rel), &c); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return c
}

// The module's dagger.json: the shape checked on a real v0.21.8 engine (FACTS.md). With
// "source": "." codegen would delete the root internal/; without include the engine cannot
// read ../go.mod.
func TestRootDaggerJSON(t *testing.T) {
	c := loadDaggerConfig(t, "dagger.json")
	if c.Name != "reliquary" || c.EngineVersion != engineVersion || c.SDK.Source != "go" || c.Source != "ci" {
		t.Errorf("dagger.json: name %q engineVersion %q sdk %q source %q; want reliquary %s go ci",
			c.Name, c.EngineVersion, c.SDK.Source, c.Source, engineVersion)
	}
	for _, want := range []string{"go.mod", "go.sum", "!ci/tests"} {
		if !contains(c.Include, want) {
			t.Errorf("dagger.json include lacks %q: %v", want, c.Include)
		}
	}
}

// Every root package the module compiles against must be uploaded to the engine, or loading
// the module fails there (and only there).
func TestIncludeCoversModuleImports(t *testing.T) {
	c := loadDaggerConfig(t, "dagger.json")
	pkgs := rootImports(t, "ci")
	if len(pkgs) == 0 {
		t.Fatal("ci/ imports no root package; the include list would then need only go.mod and go.sum")
	}
	for _, dir := range rootDeps(t, pkgs) {
		if !covered(c.Include, dir) {
			t.Errorf("ci/ needs %s, which dagger.json's include %v does not upload", dir, c.Include)
		}
	}
}

// The constructor's allowlist must hand the CLI build every package `go build ./cmd/reliquary`
// needs, from a source directory that holds nothing else.
func TestToolAllowlistCoversCLI(t *testing.T) {
	ignore := pragmaList(t, paramPragmas(t, "New", "tool"), "ignore")
	if len(ignore) == 0 || ignore[0] != "*" {
		t.Fatalf("New's tool argument: want an allowlist starting with \"*\", got %v", ignore)
	}
	var allowed []string
	for _, p := range ignore[1:] {
		allowed = append(allowed, strings.TrimSuffix(strings.TrimPrefix(p, "!"), "/"))
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !contains(allowed, f) {
			t.Errorf("the tool allowlist %v lacks %s", ignore, f)
		}
	}
	for _, dir := range rootDeps(t, []string{rootModule + "/cmd/reliquary"}) {
		if !covered(allowed, dir) {
			t.Errorf("the CLI needs %s, which the tool allowlist %v leaves out", dir, ignore)
		}
	}
}

func TestCovered(t *testing.T) {
	include := []string{"go.mod", "pipeline", "internal/safepath", "!pipeline/secret", "!ci/tests"}
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{"pipeline/bundle", true},
		{"pipeline", true},
		{"pipelines/x", false},
		{"internal/safepath", true},
		{"internal/atomicfile", false},
		{"pipeline/secret/x", false},
		{"cmd/reliquary", false},
	} {
		if got := covered(include, tc.dir); got != tc.want {
			t.Errorf("covered(%q) = %v, want %v", tc.dir, got, tc.want)
		}
	}
}

// covered reports whether dir is under a plain entry of include and under no "!" entry.
func covered(include []string, dir string) bool {
	in := false
	for _, e := range include {
		neg := strings.HasPrefix(e, "!")
		e = strings.TrimSuffix(strings.TrimPrefix(e, "!"), "/")
		if dir == e || strings.HasPrefix(dir, e+"/") {
			if neg {
				return false
			}
			in = true
		}
	}
	return in
}

// rootImports are the root-module packages imported by the .go files in dir.
func rootImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, rootModule+"/") && !strings.HasPrefix(p, ciModule) && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// rootDeps are the directories (relative to the root) of pkgs and every root-module package
// they depend on.
func rootDeps(t *testing.T, pkgs []string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var dirs []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, rootModule+"/") {
			dirs = append(dirs, strings.TrimPrefix(p, rootModule+"/"))
		}
	}
	return dirs
}

// ci/go.mod: its own module under the root path (so it may import root packages), the root
// replaced by the working tree (else codegen fetches the published root), a go line codegen
// accepts and no toolchain line.
func TestGoMods(t *testing.T) {
	for _, tc := range []struct {
		file, module string
		replace      bool
	}{
		{"ci/go.mod", ciModule, true},
		{"ci/tests/go.mod", testsModule, false},
		{"go.mod", rootModule, false},
	} {
		f, err := modfile.Parse(tc.file, readFile(t, tc.file), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if f.Module == nil || f.Module.Mod.Path != tc.module {
			t.Errorf("%s: module %v, want %s", tc.file, f.Module, tc.module)
		}
		if f.Go == nil || semver.Compare("v"+f.Go.Version, "v"+maxGoLine) > 0 {
			t.Errorf("%s: go line %v; Dagger's codegen needs %s or older", tc.file, f.Go, maxGoLine)
		}
		if f.Toolchain != nil {
			t.Errorf("%s: has a toolchain line (%s); codegen refuses it", tc.file, f.Toolchain.Name)
		}
		if !tc.replace {
			continue
		}
		ok := false
		for _, r := range f.Replace {
			if r.Old.Path == rootModule && strings.TrimSuffix(r.New.Path, "/") == ".." {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no `replace %s => ../`: codegen would build against the published root", tc.file, rootModule)
		}
	}
}

// The test module: its own dagger.json depending on the module at the root, with function
// caching off so that every run tests something.
func TestTestModuleConfig(t *testing.T) {
	c := loadDaggerConfig(t, "ci/tests/dagger.json")
	if c.EngineVersion != engineVersion || c.SDK.Source != "go" || !c.DisableDefaultFunctionCaching {
		t.Errorf("ci/tests/dagger.json: engineVersion %q sdk %q disableDefaultFunctionCaching %v",
			c.EngineVersion, c.SDK.Source, c.DisableDefaultFunctionCaching)
	}
	if len(c.Dependencies) != 1 || c.Dependencies[0].Name != "reliquary" || c.Dependencies[0].Source != "../.." {
		t.Errorf("ci/tests/dagger.json: dependencies %+v, want reliquary from ../..", c.Dependencies)
	}
}

// The engine deletes ci/internal (and ci/tests/internal) during codegen: nothing there may be
// committed, and whatever is there must be generated.
func TestNoHandWrittenCodeWhereCodegenDeletes(t *testing.T) {
	for _, dir := range []string{"ci/internal", "ci/tests/internal"} {
		cmd := exec.Command("git", "ls-files", dir)
		cmd.Dir = root(t)
		if out, err := cmd.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("committed files under %s (codegen deletes them): %s", dir, out)
		}
		_ = filepath.WalkDir(filepath.Join(root(t), dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil && !strings.HasPrefix(string(data), "// Code generated") {
				t.Errorf("%s is not generated code; the engine deletes %s during codegen", p, dir)
			}
			return nil
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
