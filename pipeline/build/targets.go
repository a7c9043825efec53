package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/config"
	"golang.org/x/mod/modfile"
)

// Platform is one target platform.
type Platform struct {
	OS, Arch, Variant string
}

// ParsePlatform parses "os/arch" or "os/arch/variant" (linux/arm/v7).
func ParsePlatform(s string) (Platform, error) {
	if err := config.CheckPlatform(s); err != nil {
		return Platform{}, fmt.Errorf("build: platform: %w", err)
	}
	f := strings.Split(s, "/")
	p := Platform{OS: f[0], Arch: f[1]}
	if len(f) == 3 {
		p.Variant = f[2]
	}
	return p, nil
}

// String is the os/arch[/variant] form.
func (p Platform) String() string {
	if p.Variant != "" {
		return p.OS + "/" + p.Arch + "/" + p.Variant
	}
	return p.OS + "/" + p.Arch
}

// archName is the architecture as archive names spell it: arm64, armv7.
func (p Platform) archName() string { return p.Arch + p.Variant }

// dirName names the platform's work directory.
func (p Platform) dirName() string { return p.OS + "_" + p.archName() }

// exe is the executable suffix of the platform.
func (p Platform) exe() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

// Target is one main package and the binary it becomes.
type Target struct {
	Main       string `json:"main"`       // "./cmd/tool" or "."
	ImportPath string `json:"importPath"` // example.com/tool/cmd/tool
	Binary     string `json:"binary"`     // without .exe
}

// majorSuffix is a major-version path element (v2 and up, as cmd/go's isVersionElement),
// which go build skips when naming a binary: example.com/tool/v2 builds "tool".
var majorSuffix = regexp.MustCompile(`^v([2-9]|[1-9][0-9]+)$`)

// defaultName is the name `go build` gives the binary of an import path.
func defaultName(importPath string) string {
	elem := strings.Split(importPath, "/")
	name := elem[len(elem)-1]
	if len(elem) > 1 && majorSuffix.MatchString(name) {
		name = elem[len(elem)-2]
	}
	return name
}

// listed is one line of the go list template below.
type listed struct{ name, importPath, dir string }

// goList lists packages matching patterns, with the clean build environment.
func (r *runner) goList(ctx context.Context, patterns ...string) ([]listed, error) {
	args := append([]string{"list", "-f", "{{.Name}}\t{{.ImportPath}}\t{{.Dir}}", "--"}, patterns...)
	out, err := runGo(ctx, r.host.bin, r.source, r.baseEnv(), args...)
	if err != nil {
		return nil, err
	}
	var ls []listed
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		ls = append(ls, listed{f[0], f[1], f[2]})
	}
	return ls, nil
}

// targets resolves what to build: the config's builds, checked to be main packages, or
// every main package of the module.
func (r *runner) targets(ctx context.Context) ([]Target, error) {
	var ts []Target
	if len(r.cfg.Builds) > 0 {
		for _, b := range r.cfg.Builds {
			ls, err := r.goList(ctx, b.Main)
			if err != nil {
				return nil, fmt.Errorf("build: %s: %w", b.Main, err)
			}
			if len(ls) != 1 || ls[0].name != "main" {
				return nil, fmt.Errorf("build: %s: builds[].main must name one main package", b.Main)
			}
			t := Target{Main: b.Main, ImportPath: ls[0].importPath, Binary: b.Binary}
			if t.Binary == "" {
				t.Binary = defaultName(t.ImportPath)
			}
			ts = append(ts, t)
		}
	} else {
		ls, err := r.goList(ctx, "./...")
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if l.name != "main" {
				continue
			}
			main := "."
			if l.importPath != r.module {
				main = "./" + strings.TrimPrefix(l.importPath, r.module+"/")
			}
			ts = append(ts, Target{Main: main, ImportPath: l.importPath, Binary: defaultName(l.importPath)})
		}
	}
	return checkTargets(ts)
}

func checkTargets(ts []Target) ([]Target, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("build: no main package to build (add builds to %s)", config.FileName)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Binary < ts[j].Binary })
	for i, t := range ts {
		if !config.ValidName(t.Binary) {
			return nil, fmt.Errorf("build: %s: binary name %q is not a valid file name", t.Main, t.Binary)
		}
		if i > 0 && ts[i-1].Binary == t.Binary {
			return nil, fmt.Errorf("build: %s and %s both build %q: name them in %s (builds[].binary)", ts[i-1].Main, t.Main, t.Binary, config.FileName)
		}
	}
	return ts, nil
}

// moduleInfo returns the main module's path.
func (r *runner) moduleInfo(ctx context.Context) (string, error) {
	out, err := runGo(ctx, r.host.bin, r.source, r.baseEnv(), "list", "-m", "-f", "{{.Path}}")
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || strings.ContainsAny(mod, " \n\t") {
		return "", fmt.Errorf("build: %s: unexpected module path %q", r.source, mod)
	}
	return mod, nil
}

// runGo runs go with args and returns stdout; on failure the error carries stderr.
func runGo(ctx context.Context, bin, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 8000 {
			msg = msg[:8000] + "..."
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("go %s: %s", strings.Join(args, " "), msg)
		}
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// ProjectName is the name a release of the Go module at dir carries: reliquary.yaml's
// project, else the name `go build` gives the module's main package (example.com/tool/v2
// is "tool"). Both runners take it from here, so they name a release alike.
func ProjectName(dir string) (string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	name := cfg.Project
	if name == "" {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return "", fmt.Errorf("build: %s is not a Go module root: %w", dir, err)
		}
		mod := modfile.ModulePath(data)
		if mod == "" {
			return "", fmt.Errorf("build: %s: no module line", filepath.Join(dir, "go.mod"))
		}
		name = defaultName(mod)
	}
	if !config.ValidName(name) {
		return "", fmt.Errorf("build: project name %q is not a valid file name: set project in %s", name, config.FileName)
	}
	return name, nil
}
