package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// testBinary is one package's compiled test binary.
type testBinary struct {
	pkg  string // import path
	name string // package name: go test -c names the binary after it
	dir  string // the package's source directory: the binary runs there, as under go test
	path string
}

// testPackages lists the packages matching patterns in the module at dir that have tests.
// missing lists the patterns that name no directory there (a package added since the
// baseline); any other problem with a package is an error.
func (t *toolchain) testPackages(ctx context.Context, dir string, patterns []string) (pkgs []testBinary, missing []string, err error) {
	args := append([]string{"list", "-e", "-json=ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Error"}, patterns...)
	out, err := t.output(ctx, dir, args...)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Name, Dir     string
			TestGoFiles, XTestGoFiles []string
			Error                     *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("bench: go list in %s: %w", dir, err)
		}
		switch {
		case p.Error != nil && p.Dir == "":
			missing = append(missing, p.ImportPath)
		case p.Error != nil:
			return nil, nil, fmt.Errorf("bench: package %s (in %s): %s", p.ImportPath, dir, p.Error.Err)
		case len(p.TestGoFiles)+len(p.XTestGoFiles) > 0:
			pkgs = append(pkgs, testBinary{pkg: p.ImportPath, name: p.Name, dir: p.Dir})
		}
	}
	return pkgs, missing, nil
}

// compileTests builds each package's test binary into outDir, once; every sample then runs
// the same executable. One go command builds many packages (loading and linking in
// parallel), as long as their package names differ: go test -c names binaries after them.
// -trimpath keeps the checkout's location out of the binaries: the same source gives the
// same binary on both sides, and the build cache is shared.
func (t *toolchain) compileTests(ctx context.Context, dir, outDir string, pkgs []testBinary) error {
	for g, group := range uniqueNameGroups(pkgs) {
		gdir := filepath.Join(outDir, fmt.Sprintf("g%d", g))
		if err := os.MkdirAll(gdir, 0o755); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		args := []string{"test", "-c", "-trimpath", "-o", gdir + string(filepath.Separator)}
		for _, i := range group {
			args = append(args, pkgs[i].pkg)
			pkgs[i].path = filepath.Join(gdir, pkgs[i].name+".test"+exeSuffix())
		}
		if _, err := t.output(ctx, dir, args...); err != nil {
			return err
		}
		for _, i := range group {
			if _, err := os.Stat(pkgs[i].path); err != nil {
				return fmt.Errorf("bench: go test -c wrote no test binary for %s: %w", pkgs[i].pkg, err)
			}
		}
	}
	return nil
}

// uniqueNameGroups splits pkgs (by index) into as few groups as possible in which no two
// packages share a name: the n-th package of a given name goes to group n.
func uniqueNameGroups(pkgs []testBinary) [][]int {
	var groups [][]int
	seen := map[string]int{}
	for i, p := range pkgs {
		g := seen[p.name]
		seen[p.name] = g + 1
		if g == len(groups) {
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// benchArgs are the test binary's flags for one sample of every matching benchmark.
func benchArgs(in *Input) []string {
	args := []string{"-test.run=^$", "-test.bench=" + in.Bench, "-test.benchmem", "-test.count=1", "-test.paniconexit0"}
	if in.BenchTime != "" {
		args = append(args, "-test.benchtime="+in.BenchTime)
	}
	if in.CPU != "" {
		args = append(args, "-test.cpu="+in.CPU)
	}
	return args
}

// runTestBinary takes one sample of every matching benchmark in b. source names the run in
// errors, e.g. "baseline v0.9.0: example.com/p (run 3)".
func runTestBinary(ctx context.Context, b testBinary, args []string, source string) (*Output, error) {
	cmd := exec.CommandContext(ctx, b.path, args...)
	cmd.Dir = b.dir
	out, err := runOutput(cmd, maxOutput, source)
	if err != nil {
		return nil, err
	}
	parsed, err := parseBytes(out, source)
	if err != nil {
		return nil, err
	}
	// The binary knows its own package; the pkg: line is only a fallback for files.
	for i := range parsed.Results {
		parsed.Results[i].Package = b.pkg
	}
	return parsed, nil
}

// checkPatterns refuses package patterns and a bench pattern the go command would read as
// flags.
func checkPatterns(in *Input) error {
	for _, p := range in.Packages {
		if p == "" || strings.HasPrefix(p, "-") {
			return fmt.Errorf("bench: package pattern %q: must not be empty or start with '-'", p)
		}
	}
	return nil
}
