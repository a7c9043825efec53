package citest_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleSet resolves a command's -m to the module's API, parsed from the repository at test
// time, so the check follows every change to ci/.
type moduleSet struct {
	root string
	apis map[string]*callAPI
}

// resolve maps a -m value to a module of this repository: none, ".", this repository's
// module path (with or without @ref), or a relative directory holding a dagger.json.
func (s *moduleSet) resolve(ref string) (*callAPI, error) {
	dir := strings.TrimPrefix(ref, "https://")
	if i := strings.Index(dir, "@"); i >= 0 {
		dir = dir[:i]
	}
	switch first, _, _ := strings.Cut(dir, "/"); {
	case dir == "" || dir == rootModule:
		dir = "."
	case strings.Contains(first, ".") && !strings.HasPrefix(first, "."):
		return nil, fmt.Errorf("module %s is not this repository's: the check cannot see it", ref)
	}
	dir = filepath.Clean(dir)
	if api := s.apis[dir]; api != nil {
		return api, nil
	}
	var cfg struct{ Name, Source string }
	data, err := os.ReadFile(filepath.Join(s.root, dir, "dagger.json"))
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("module %s: %v", ref, err)
	}
	m, err := parseModuleDir(filepath.Join(s.root, dir, cfg.Source))
	if err != nil {
		return nil, fmt.Errorf("module %s: %v", ref, err)
	}
	api, err := buildCallAPI(m, pascal(cfg.Name))
	if err != nil {
		return nil, fmt.Errorf("module %s: %v", ref, err)
	}
	s.apis[dir] = api
	return api, nil
}

// check returns the problems of one command.
func (s *moduleSet) check(cmd daggerCmd) []string {
	api, err := s.resolve(cmd.module)
	if err != nil {
		return []string{err.Error()}
	}
	return append(append([]string(nil), cmd.errs...), checkCall(api, cmd.args, cmd.opts)...)
}

// documentedCalls are the `dagger call` commands of README.md, docs/ and examples/, by file
// relative to root.
func documentedCalls(t *testing.T, root string) map[string][]daggerCmd {
	t.Helper()
	out := map[string][]daggerCmd{}
	var files []string
	for _, top := range []string{"README.md", "docs", "examples"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".md":
			out[rel] = markdownCalls(string(data))
		case ".yml", ".yaml":
			if out[rel], err = yamlCalls(data); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
		case ".sh":
			out[rel] = findDaggerCalls(string(data), 1, checkOpts{}, shellVars{})
		}
	}
	return out
}

// Every `dagger call` in the README, docs/ and the CI examples names functions and flags the
// module in ci/ has, and (in code blocks and CI files, not in prose mentions) passes every
// required argument: an example that would fail at `dagger call` fails here first.
func TestDocumentedCallsExist(t *testing.T) {
	root := root(t)
	mods := &moduleSet{root: root, apis: map[string]*callAPI{}}
	calls := documentedCalls(t, root)
	n := 0
	for file, cmds := range calls {
		for _, cmd := range cmds {
			n++
			for _, e := range mods.check(cmd) {
				t.Errorf("%s:%d: %s\n\t%s", file, cmd.line, e, cmd.text)
			}
		}
	}
	for _, f := range []string{"examples/github-actions.yml", "examples/gitlab-ci.yml", "README.md", "docs/dagger.md"} {
		if len(calls[f]) < 2 {
			t.Errorf("%s: found %d dagger calls, expected the release and the gate at least", f, len(calls[f]))
		}
	}
	t.Logf("checked %d dagger calls against ci/", n)
}
