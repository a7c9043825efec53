package citest_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/source"
)

// module is the parsed Go source of the Dagger module in ci/.
type module struct {
	fset   *token.FileSet
	files  []*ast.File
	funcs  map[string]*ast.FuncDecl // "Type.Method" or "Func"
	fileOf map[*ast.FuncDecl]*ast.File
}

func parseModule(t *testing.T) *module {
	t.Helper()
	m, err := parseModuleDir(filepath.Join(root(t), "ci"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parseModuleDir parses the Go files of the Dagger module whose source is dir (not its tests,
// not the generated code).
func parseModuleDir(dir string) (*module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no Go files in %s (%v)", dir, err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, ".gen.go") {
			continue
		}
		if files[p], err = os.ReadFile(p); err != nil {
			return nil, err
		}
	}
	return parseModuleFiles(files)
}

// parseModuleFiles parses a module's Go files, given by name.
func parseModuleFiles(files map[string][]byte) (*module, error) {
	fset := token.NewFileSet()
	m := &module{fset: fset, funcs: map[string]*ast.FuncDecl{}, fileOf: map[*ast.FuncDecl]*ast.File{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, files[name], parser.ParseComments)
		if err != nil {
			return nil, err
		}
		m.files = append(m.files, f)
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				m.funcs[funcKey(fn)] = fn
				m.fileOf[fn] = f
			}
		}
	}
	return m, nil
}

func funcKey(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}

// api are the functions Dagger exposes: New and the exported methods of exported types.
func (m *module) api() map[string]*ast.FuncDecl {
	out := map[string]*ast.FuncDecl{}
	for k, fn := range m.funcs {
		recv, name, ok := strings.Cut(k, ".")
		if (!ok && k == "New") || (ok && ast.IsExported(recv) && ast.IsExported(name)) {
			out[k] = fn
		}
	}
	return out
}

// paramPragmas returns the comment lines attached to parameter param of function fn.
func paramPragmas(t *testing.T, fn, param string) []string {
	t.Helper()
	m := parseModule(t)
	decl, ok := m.funcs[fn]
	if !ok {
		t.Fatalf("ci/ has no function %s", fn)
	}
	for i, f := range decl.Type.Params.List {
		for _, n := range f.Names {
			if n.Name == param {
				return m.paramComments(decl, i)
			}
		}
	}
	t.Fatalf("%s has no parameter %s", fn, param)
	return nil
}

// paramComments are the comment lines of parameter i of fn, as Dagger's codegen reads them:
// the comments between the previous parameter (or the opening parenthesis) and this one,
// and a comment on the same line after it. go/ast does not attach these to the parameter.
func (m *module) paramComments(fn *ast.FuncDecl, i int) []string {
	params := fn.Type.Params
	start := params.Opening
	if i > 0 {
		start = params.List[i-1].End()
	}
	p := params.List[i]
	line := m.fset.Position(p.End()).Line
	var lines []string
	for _, g := range m.fileOf[fn].Comments {
		before := g.Pos() > start && g.End() < p.Pos() && m.fset.Position(g.Pos()).Line != m.fset.Position(start).Line
		after := g.Pos() > p.End() && m.fset.Position(g.Pos()).Line == line
		if before || after {
			lines = append(lines, commentLines(g)...)
		}
	}
	return lines
}

func commentLines(groups ...*ast.CommentGroup) []string {
	var lines []string
	for _, g := range groups {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			lines = append(lines, strings.TrimSpace(strings.TrimPrefix(c.Text, "//")))
		}
	}
	return lines
}

// pragmaList parses a "+key=[...]" pragma (JSON, possibly over several lines).
func pragmaList(t *testing.T, lines []string, key string) []string {
	t.Helper()
	for i, l := range lines {
		if !strings.HasPrefix(l, "+"+key+"=") {
			continue
		}
		text := strings.TrimPrefix(l, "+"+key+"=")
		for j := i + 1; !strings.HasSuffix(strings.TrimSpace(text), "]") && j < len(lines); j++ {
			text += lines[j]
		}
		var list []string
		if err := json.Unmarshal([]byte(text), &list); err != nil {
			t.Fatalf("+%s pragma %q: %v", key, text, err)
		}
		return list
	}
	return nil
}

func hasPragma(lines []string, pragma string) bool {
	return slices.Contains(lines, pragma)
}

func isType(expr ast.Expr, pkg, name string) bool {
	star, ok := expr.(*ast.StarExpr)
	if ok {
		expr = star.X
	}
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// Every function and argument is documented: the comments are the module's --help, and the
// package comment is its description.
func TestModuleIsDocumented(t *testing.T) {
	m := parseModule(t)
	var pkgDoc string
	for _, f := range m.files {
		if f.Doc != nil {
			pkgDoc += f.Doc.Text()
		}
	}
	if !strings.HasPrefix(pkgDoc, "Reliquary") {
		t.Errorf("the package comment (the module's description) should start with Reliquary, got %q", pkgDoc)
	}
	api := m.api()
	if len(api) < 10 {
		t.Fatalf("found only %d API functions in ci/: %v", len(api), keys(api))
	}
	for name, fn := range api {
		if fn.Doc == nil || len(strings.TrimSpace(fn.Doc.Text())) < 20 {
			t.Errorf("%s: no doc comment (it is the function's --help)", name)
		}
		for i, p := range fn.Type.Params.List {
			if isType(p.Type, "context", "Context") {
				continue
			}
			doc := m.paramComments(fn, i)
			if len(doc) == 0 || strings.HasPrefix(doc[0], "+") {
				t.Errorf("%s: argument %s has no doc comment (it is the flag's --help)", name, p.Names[0].Name)
			}
		}
	}
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				return true
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok || !ast.IsExported(ts.Name.Name) {
					continue
				}
				if gd.Doc == nil && ts.Doc == nil {
					t.Errorf("type %s: no doc comment", ts.Name.Name)
				}
				for _, fld := range st.Fields.List {
					if len(commentLines(fld.Doc, fld.Comment)) == 0 {
						t.Errorf("type %s: field %s has no comment", ts.Name.Name, fld.Names[0].Name)
					}
				}
			}
			return false
		})
	}
}

// The generated client of a module that depends on this one (ci/tests, any user's module)
// names a private field after each of our fields and a variable after each argument,
// lower-cased: a name that becomes a Go keyword ("Go" -> "go") breaks that codegen.
func TestNamesSurviveDependentCodegen(t *testing.T) {
	m := parseModule(t)
	check := func(what, name string) {
		lower := strings.ToLower(name[:1]) + name[1:]
		if token.IsKeyword(lower) {
			t.Errorf("%s (%s): becomes the Go keyword %q in a dependent module's generated client", what, name, lower)
		}
	}
	for name, fn := range m.api() {
		check("function", fn.Name.Name)
		for _, p := range fn.Type.Params.List {
			for _, n := range p.Names {
				check(name+" argument", n.Name)
			}
		}
	}
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok && ast.IsExported(ts.Name.Name) {
				if st, ok := ts.Type.(*ast.StructType); ok {
					for _, fld := range st.Fields.List {
						for _, n := range fld.Names {
							check("field "+ts.Name.Name+"."+n.Name, n.Name)
						}
					}
				}
			}
			return true
		})
	}
}

// Functions that take a secret sign something, and signing must happen now, not be replayed
// from the cache; the exec inside must also differ each time (FACTS: identical execs are
// cached even under +cache="never").
func TestSecretsAreNeverCached(t *testing.T) {
	m := parseModule(t)
	n := 0
	for name, fn := range m.api() {
		takesSecret := false
		for _, p := range fn.Type.Params.List {
			takesSecret = takesSecret || isType(p.Type, "dagger", "Secret")
		}
		if !takesSecret {
			continue
		}
		n++
		if !hasPragma(commentLines(fn.Doc), `+cache="never"`) {
			t.Errorf("%s takes a secret but is not +cache=\"never\"", name)
		}
	}
	for name, fn := range m.funcs {
		if name != "withSigningKey" && callsFunc(fn, "withSigningKey") && !callsFunc(fn, "uncached") {
			t.Errorf("%s mounts a secret but its exec is not made unique (uncached)", name)
		}
	}
	if n < 3 {
		t.Errorf("only %d functions take a secret; sign, attest's source (sign), release and promote should", n)
	}
	for _, name := range []string{"Reliquary.Release", "Reliquary.Benchmark", "Reliquary.Replay", "Signed.Attest", "Audited.Escrow", "Escrowed.Seal"} {
		if fn := m.funcs[name]; fn == nil || !hasPragma(commentLines(fn.Doc), `+cache="never"`) {
			t.Errorf("%s must be +cache=\"never\"", name)
		}
	}
}

func callsFunc(fn *ast.FuncDecl, name string) bool {
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// Secrets reach a stage only as files mounted for its user: never Plaintext (which returns
// the clear value), never an environment variable, never a secret made from a string.
func TestSecretsOnlyMountedAsFiles(t *testing.T) {
	m := parseModule(t)
	mounts := 0
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Plaintext", "WithSecretVariable", "SetSecret":
				t.Errorf("ci/ calls %s: secrets must only be mounted as files", sel.Sel.Name)
			case "WithMountedSecret":
				mounts++
				if len(call.Args) != 3 {
					t.Errorf("WithMountedSecret without options: the owner and mode 0400 must be set")
				}
			}
			return true
		})
	}
	if mounts == 0 {
		t.Error("ci/ never mounts a secret")
	}
}

// The source arguments leave out exactly what the source tree digest leaves out, so that the
// digest is the same in a checkout and in the container. Source and Release take .git along
// for the stages that read the history, and hand the other stages the tree without it.
func TestSourceIgnoresMatchTreeDigest(t *testing.T) {
	want := append([]string(nil), source.DefaultExcludes...)
	slices.Sort(want)
	withoutGit := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == ".git" })
	for _, tc := range []struct {
		fn, param string
		want      []string
	}{
		{"Reliquary.Source", "dir", withoutGit},
		{"Reliquary.Release", "source", withoutGit},
		{"Reliquary.Replay", "source", want},
	} {
		got := pragmaList(t, paramPragmas(t, tc.fn, tc.param), "ignore")
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s(%s): +ignore=%v, want %v (pipeline/source.DefaultExcludes)", tc.fn, tc.param, got, tc.want)
		}
	}
	if strip := parseModule(t).funcs["withoutGit"]; strip == nil || !hasStringLiteral(strip, ".git") || !slices.Contains(methodCalls(strip), "Filter") {
		t.Error(`ci/ must hand the build stages the tree without .git through Filter, which keeps content hashing (withoutGit)`)
	}
	if got := pragmaList(t, paramPragmas(t, "New", "tool"), "ignore"); !slices.Contains(got, "*") {
		t.Errorf("New(tool) must be an allowlist, got %v", got)
	}
	if !hasPragma(paramPragmas(t, "New", "tool"), `+defaultPath="/"`) {
		t.Error(`New(tool) must default to the module's repository: +defaultPath="/"`)
	}
}

// The gate is a check, so `dagger check` runs it with its defaults.
func TestVerifyIsACheck(t *testing.T) {
	m := parseModule(t)
	fn := m.funcs["Reliquary.Verify"]
	if fn == nil || !hasPragma(commentLines(fn.Doc), "+check") {
		t.Fatal("Reliquary.Verify must be a +check")
	}
	for i, p := range fn.Type.Params.List {
		if isType(p.Type, "context", "Context") {
			continue
		}
		lines := m.paramComments(fn, i)
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "+defaultPath=") || l == "+optional"
		}) {
			t.Errorf("Verify(%s): a check's arguments must all have defaults", p.Names[0].Name)
		}
	}
}

func keys(m map[string]*ast.FuncDecl) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
