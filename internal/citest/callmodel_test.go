package citest_test

import (
	"fmt"
	"go/ast"
	"slices"
	"strings"
	"unicode"
)

// callAPI is what `dagger call` can reach in a module: its object types, each with the
// functions (exported methods, and exported fields not marked +private) a call may chain.
type callAPI struct {
	main  string              // the main object type: the module's name in PascalCase
	types map[string]*objType // by Go type name; the main object's constructor is under ""
}

type objType struct {
	funcs map[string]*callFunc // by kebab-case name
}

// callFunc is one function or field as the CLI sees it.
type callFunc struct {
	name string // kebab-case
	args []callArg
	ret  retType
}

type callArg struct {
	flag     string // kebab-case, without --
	required bool
	boolean  bool // may be given as a bare --flag
}

// retKind classifies what a function returns, which decides what may follow it.
type retKind int

const (
	retNone   retKind = iota // nothing (only an error): nothing may follow
	retScalar                // string, int, ...: nothing may follow
	retObject                // one of the module's types: its functions may follow
	retCore                  // a Dagger core type: coreFuncs says what may follow
	retOther                 // lists and the like: the checker stops following
)

type retType struct {
	kind retKind
	name string // the object or core type name
}

// coreFuncs are the functions of Dagger core types the documentation chains after a module
// function (v0.21.8 API). A function not listed here fails the check: add it if the
// engine has it. Core types not listed end the check.
var coreFuncs = map[string]map[string]*callFunc{
	"Directory": {
		"export":    {name: "export", args: []callArg{{flag: "path", required: true}, {flag: "wipe", boolean: true}}, ret: retType{kind: retScalar}},
		"entries":   {name: "entries", args: []callArg{{flag: "path"}}, ret: retType{kind: retOther}},
		"file":      {name: "file", args: []callArg{{flag: "path", required: true}}, ret: retType{kind: retCore, name: "File"}},
		"directory": {name: "directory", args: []callArg{{flag: "path", required: true}}, ret: retType{kind: retCore, name: "Directory"}},
		"glob":      {name: "glob", args: []callArg{{flag: "pattern", required: true}}, ret: retType{kind: retOther}},
		"digest":    {name: "digest", ret: retType{kind: retScalar}},
		"sync":      {name: "sync", ret: retType{kind: retCore, name: "Directory"}},
	},
	"File": {
		"export":   {name: "export", args: []callArg{{flag: "path", required: true}, {flag: "allow-parent-dir-path", boolean: true}}, ret: retType{kind: retScalar}},
		"contents": {name: "contents", ret: retType{kind: retScalar}},
		"name":     {name: "name", ret: retType{kind: retScalar}},
		"size":     {name: "size", ret: retType{kind: retScalar}},
		"digest":   {name: "digest", ret: retType{kind: retScalar}},
		"sync":     {name: "sync", ret: retType{kind: retCore, name: "File"}},
	},
}

// buildCallAPI reads the callable surface of a parsed module whose main object is main:
// New's parameters are the flags before the first function; every exported method of an
// exported type, and every exported field without +private, is a function.
func buildCallAPI(m *module, main string) (*callAPI, error) {
	api := &callAPI{main: main, types: map[string]*objType{}}
	structs := m.structs()
	for name := range structs {
		api.types[name] = &objType{funcs: map[string]*callFunc{}}
	}
	if _, ok := api.types[main]; !ok {
		return nil, fmt.Errorf("the module has no main object type %s", main)
	}
	for name, st := range structs {
		for _, f := range st.Fields.List {
			if hasPragma(commentLines(f.Doc, f.Comment), "+private") {
				continue
			}
			for _, n := range f.Names {
				if ast.IsExported(n.Name) {
					api.types[name].funcs[kebab(n.Name)] = &callFunc{name: kebab(n.Name), ret: api.classify(f.Type)}
				}
			}
		}
	}
	for key, fn := range m.api() {
		recv, method, isMethod := strings.Cut(key, ".")
		switch {
		case !isMethod:
			api.types[""] = &objType{funcs: map[string]*callFunc{"": m.callFunc(api, fn, "")}}
		case api.types[recv] != nil:
			api.types[recv].funcs[kebab(method)] = m.callFunc(api, fn, kebab(method))
		}
	}
	if api.types[""] == nil {
		api.types[""] = &objType{funcs: map[string]*callFunc{"": {}}} // no New: no flags
	}
	return api, nil
}

// structs are the module's exported struct types.
func (m *module) structs() map[string]*ast.StructType {
	out := map[string]*ast.StructType{}
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok && ast.IsExported(ts.Name.Name) {
				if st, ok := ts.Type.(*ast.StructType); ok {
					out[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	return out
}

func (m *module) callFunc(api *callAPI, fn *ast.FuncDecl, name string) *callFunc {
	cf := &callFunc{name: name, ret: retType{kind: retNone}}
	for i, p := range fn.Type.Params.List {
		if isType(p.Type, "context", "Context") {
			continue
		}
		lines := m.paramComments(fn, i)
		optional := slices.ContainsFunc(lines, func(l string) bool {
			return l == "+optional" || strings.HasPrefix(l, "+default=") || strings.HasPrefix(l, "+defaultPath=")
		})
		id, isIdent := p.Type.(*ast.Ident)
		for _, n := range p.Names {
			cf.args = append(cf.args, callArg{flag: kebab(n.Name), required: !optional, boolean: isIdent && id.Name == "bool"})
		}
	}
	if res := fn.Type.Results; res != nil && len(res.List) > 0 {
		if first := res.List[0].Type; !(len(res.List) == 1 && isIdent(first, "error")) {
			cf.ret = api.classify(first)
		}
	}
	return cf
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// classify says what kind of value a Go type is, as a function result.
func (api *callAPI) classify(e ast.Expr) retType {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	switch t := e.(type) {
	case *ast.Ident:
		if api.types[t.Name] != nil {
			return retType{kind: retObject, name: t.Name}
		}
		return retType{kind: retScalar, name: t.Name}
	case *ast.SelectorExpr:
		if isIdent(t.X, "dagger") {
			return retType{kind: retCore, name: t.Sel.Name}
		}
	}
	return retType{kind: retOther}
}

// kebab is the CLI name of a Go identifier: InvocationID -> invocation-id,
// GoImageTarball -> go-image-tarball, SourceDateEpoch -> source-date-epoch.
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// pascal is the main object's type name for a module name: "reliquary" -> "Reliquary",
// "my-module" -> "MyModule".
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
