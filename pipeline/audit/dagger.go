package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sentientos/reliquary/internal/safepath"
)

// forbidden are Dagger API names a least-privilege module never uses, and why.
var forbidden = map[string]struct {
	severity Severity
	why      string
}{
	"InsecureRootCapabilities":      {High, "grants a container insecure root capabilities"},
	"ExperimentalPrivilegedNesting": {High, "gives a container access to the Dagger engine (privileged nesting)"},
	"WithSecretVariable":            {High, "puts a secret in an environment variable, readable by every process of the stage and easy to leak into logs; mount it as a file (WithMountedSecret)"},
	"Plaintext":                     {High, "reads a secret's clear value into the module, from where it can reach outputs and logs"},
	"WithUnixSocket":                {Medium, "mounts a host socket into a container"},
	"SetSecret":                     {Medium, "makes a secret from a string the module holds in clear"},
}

// MaxModuleFileSize bounds one Go file of a Dagger module.
const MaxModuleFileSize = 4 << 20

// CheckDaggerModule statically checks the Go source of a Dagger module: the *.go files of
// dir itself (not its subdirectories, where the generated SDK defines every API name). It
// reports privileged or insecure capabilities, secrets read in clear or put in the
// environment, secrets taken but never mounted as files, mounted secrets readable beyond
// their owner, and stages that never set a non-root user. It reads source text only; it
// runs nothing.
func CheckDaggerModule(dir string) ([]Finding, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	m := &module{fset: token.NewFileSet(), consts: map[string]string{}, used: map[string]bool{}, label: ModuleLabel(dir)}
	for _, p := range paths {
		if err := m.parse(p); err != nil {
			return nil, err
		}
	}
	return m.findings(), nil
}

// ModuleLabel names a module directory in findings without the machine's path: "ci/".
func ModuleLabel(dir string) string { return filepath.Base(filepath.Clean(dir)) + "/" }

// module is what the check learns from a module's files.
type module struct {
	fset     *token.FileSet
	files    []*ast.File
	consts   map[string]string // package-level constants with a literal value
	used     map[string]bool   // every identifier used
	out      []Finding
	takesSec bool   // a *dagger.Secret appears
	label    string // the module directory as findings name it
}

func (m *module) parse(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxModuleFileSize+1))
	if err != nil {
		return err
	}
	if len(src) > MaxModuleFileSize {
		return fmt.Errorf("%s: larger than %d bytes", path, MaxModuleFileSize)
	}
	file, err := parser.ParseFile(m.fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	m.files = append(m.files, file)
	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			m.addConsts(g)
		}
	}
	return nil
}

func (m *module) addConsts(g *ast.GenDecl) {
	for _, s := range g.Specs {
		vs, ok := s.(*ast.ValueSpec)
		if !ok || len(vs.Names) != len(vs.Values) {
			continue
		}
		for i, n := range vs.Names {
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
				m.consts[n.Name] = lit.Value
			}
		}
	}
}

func (m *module) findings() []Finding {
	for _, f := range m.files {
		ast.Inspect(f, m.visit)
	}
	if m.takesSec && !m.used["WithMountedSecret"] {
		m.out = append(m.out, Finding{Severity: High, Check: "dagger", Subject: m.label, Message: "takes *dagger.Secret arguments but never mounts one as a file (WithMountedSecret)"})
	}
	if m.used["WithExec"] && !m.used["WithUser"] {
		m.out = append(m.out, Finding{Severity: Medium, Check: "dagger", Subject: m.label, Message: "never sets a user (WithUser): every stage runs as the image's default user, often root"})
	}
	return m.out
}

func (m *module) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.Ident:
		m.used[n.Name] = true
		if f, bad := forbidden[n.Name]; bad {
			m.add(n.Pos(), f.severity, fmt.Sprintf("uses %s: %s", n.Name, f.why))
		}
	case *ast.SelectorExpr:
		if x, ok := n.X.(*ast.Ident); ok && x.Name == "dagger" && n.Sel.Name == "Secret" {
			m.takesSec = true
		}
	case *ast.CompositeLit:
		m.secretMode(n)
	}
	return true
}

// secretMode reports a mounted secret's Mode that lets anyone but its owner read it.
func (m *module) secretMode(lit *ast.CompositeLit) {
	sel, ok := lit.Type.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "ContainerWithMountedSecretOpts" {
		return
	}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Mode" {
			continue
		}
		mode, known := m.intValue(kv.Value)
		switch {
		case !known:
			m.add(kv.Pos(), Low, "mounts a secret with a mode this check cannot evaluate; use a literal such as 0o400")
		case mode&0o077 != 0:
			m.add(kv.Pos(), Medium, fmt.Sprintf("mounts a secret with mode %#o, readable beyond its owner", mode))
		}
	}
}

func (m *module) intValue(e ast.Expr) (int64, bool) {
	text := ""
	switch v := e.(type) {
	case *ast.BasicLit:
		text = v.Value
	case *ast.Ident:
		text = m.consts[v.Name]
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64)
	return n, err == nil
}

func (m *module) add(pos token.Pos, s Severity, msg string) {
	p := m.fset.Position(pos)
	m.out = append(m.out, Finding{Severity: s, Check: "dagger", Subject: fmt.Sprintf("%s%s:%d", m.label, filepath.Base(p.Filename), p.Line), Message: msg})
}

// MaxDaggerJSON bounds dagger.json.
const MaxDaggerJSON = 1 << 20

// FindDaggerModule returns the directory of the Dagger module a project defines (dagger.json's
// "source", relative to the project root), or "" when the project has no dagger.json.
func FindDaggerModule(root string) (string, error) {
	f, err := os.Open(filepath.Join(root, "dagger.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDaggerJSON+1))
	if err != nil {
		return "", err
	}
	src, err := ParseDaggerJSON(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(root, "dagger.json"), err)
	}
	return filepath.Join(root, filepath.FromSlash(src)), nil
}

// ParseDaggerJSON returns the module source directory a dagger.json names ("." when it names
// none), refusing one that is not a safe path inside the project.
func ParseDaggerJSON(data []byte) (string, error) {
	if len(data) > MaxDaggerJSON {
		return "", fmt.Errorf("larger than %d bytes", MaxDaggerJSON)
	}
	var cfg struct {
		Source string `json:"source"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("not a dagger.json: %w", err)
	}
	if cfg.Source == "" || cfg.Source == "." {
		return ".", nil
	}
	src := strings.TrimSuffix(strings.TrimPrefix(cfg.Source, "./"), "/")
	if err := safepath.Check(src); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	return src, nil
}
