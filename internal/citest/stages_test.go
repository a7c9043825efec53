package citest_test

import (
	"go/ast"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/release"
)

// The Dagger module runs the local runner's stages, in the same order: its release calls
// the function of every stage in release.Stages (the list the local runner is held to), and
// each of those functions runs that stage's CLI command. A stage added to one runner only,
// or run in another order, fails here.
func TestModuleRunsTheRunnersStages(t *testing.T) {
	m := parseModule(t)
	rel := m.funcs["Reliquary.Release"]
	if rel == nil {
		t.Fatal("ci/ has no Reliquary.Release")
	}
	byName := map[string]release.Stage{}
	var want []string
	for _, st := range release.Stages {
		fn := exportedName(st.Function)
		byName[fn] = st
		want = append(want, fn)
	}
	var got []string
	for _, name := range methodCalls(rel) {
		if _, ok := byName[name]; ok {
			got = append(got, name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Reliquary.Release calls the stages %v; release.Stages (the local runner's) are %v", got, want)
	}
	for fn, st := range byName {
		decl := m.stageFunc(fn)
		if decl == nil {
			t.Errorf("stage %s: ci/ has no function %s", st.Name, fn)
			continue
		}
		if !hasStringLiteral(decl, st.Command) {
			t.Errorf("stage %s: ci/'s %s never runs `reliquary %s`", st.Name, fn, st.Command)
		}
	}
}

// exportedName is a Dagger function's Go name: reproduce -> Reproduce.
func exportedName(function string) string {
	return strings.ToUpper(function[:1]) + function[1:]
}

// stageFunc is the exported method named name on any of the module's types.
func (m *module) stageFunc(name string) *ast.FuncDecl {
	for k, fn := range m.funcs {
		if _, method, ok := strings.Cut(k, "."); ok && method == name {
			return fn
		}
	}
	return nil
}

// methodCalls are the names of the methods fn calls, in source order.
func methodCalls(fn *ast.FuncDecl) []string {
	var names []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
				names = append(names, sel.Sel.Name)
			}
		}
		return true
	})
	return names
}

func hasStringLiteral(fn *ast.FuncDecl, s string) bool {
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil && v == s {
				found = true
			}
		}
		return !found
	})
	return found
}

// The stage list itself: every name, command and function once, every command one the CLI
// has (checked in cmd/reliquary), the first stage reads the source and the last seals.
func TestStageListIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range release.Stages {
		for _, k := range []string{"name:" + st.Name, "command:" + st.Command, "function:" + st.Function} {
			if seen[k] {
				t.Errorf("release.Stages lists %s twice", k)
			}
			seen[k] = true
		}
	}
	if first, last := release.Stages[0], release.Stages[len(release.Stages)-1]; first.Command != "describe" || last.Command != "seal" {
		t.Errorf("release.Stages run from %s to %s; want describe ... seal", first.Command, last.Command)
	}
}
