package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
)

// This repository's own Dagger module must pass its least-privilege check.
func TestOwnDaggerModuleIsLeastPrivilege(t *testing.T) {
	dir := filepath.Join("..", "..", "ci")
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		t.Fatalf("the Dagger module is not at %s: %v", dir, err)
	}
	fs, err := audit.CheckDaggerModule(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Errorf("ci/: %s %s: %s", f.Severity, f.Subject, f.Message)
	}
	// dagger.json at the root names it.
	found, err := audit.FindDaggerModule(filepath.Join("..", ".."))
	if err != nil || filepath.Clean(found) != filepath.Clean(dir) {
		t.Fatalf("FindDaggerModule = %q, %v; want %s", found, err, dir)
	}
}

const moduleHeader = `package main

import (
	"context"

	"example.com/ci/internal/dagger"
)

type M struct{}
`

func TestDaggerModuleFindings(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		severity  audit.Severity
		message   string
	}{
		{"insecure root capabilities", `func (M) Build(c *dagger.Container) *dagger.Container {
	return c.WithUser("1000").WithExec([]string{"make"}, dagger.ContainerWithExecOpts{InsecureRootCapabilities: true})
}`, audit.High, "InsecureRootCapabilities"},
		{"privileged nesting", `func (M) Nest(c *dagger.Container) *dagger.Container {
	return c.WithUser("1000").WithExec([]string{"dagger", "call"}, dagger.ContainerWithExecOpts{ExperimentalPrivilegedNesting: true})
}`, audit.High, "ExperimentalPrivilegedNesting"},
		{"secret in the environment", `func (M) Sign(c *dagger.Container, key *dagger.Secret) *dagger.Container {
	return c.WithUser("1000").WithMountedSecret("/k", key).WithSecretVariable("KEY", key).WithExec([]string{"sign"})
}`, audit.High, "WithSecretVariable"},
		{"secret read in clear", `func (M) Leak(ctx context.Context, key *dagger.Secret) (string, error) {
	return key.Plaintext(ctx)
}`, audit.High, "Plaintext"},
		{"secret never mounted", `func (M) Keep(c *dagger.Container, key *dagger.Secret) *dagger.Container {
	_ = key
	return c.WithUser("1000").WithExec([]string{"true"})
}`, audit.High, "never mounts"},
		{"secret readable by all", `const mode = 0o644
func (M) Sign(c *dagger.Container, key *dagger.Secret) *dagger.Container {
	return c.WithUser("1000").WithMountedSecret("/k", key, dagger.ContainerWithMountedSecretOpts{Mode: mode}).WithExec([]string{"sign"})
}`, audit.Medium, "mode 0644"},
		{"runs as root", `func (M) Build(c *dagger.Container) *dagger.Container {
	return c.WithExec([]string{"make"})
}`, audit.Medium, "WithUser"},
		{"host socket", `func (M) Docker(c *dagger.Container, s *dagger.Socket) *dagger.Container {
	return c.WithUser("1000").WithUnixSocket("/var/run/docker.sock", s).WithExec([]string{"docker", "ps"})
}`, audit.Medium, "WithUnixSocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "main.go"), []byte(moduleHeader+tc.src+"\n"))
			// Generated SDK code in subdirectories defines every API name; it is not checked.
			writeFile(t, filepath.Join(dir, "internal", "dagger", "dagger.gen.go"), []byte("package dagger\n\ntype ContainerWithExecOpts struct{ InsecureRootCapabilities bool }\n"))
			fs, err := audit.CheckDaggerModule(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Severity == tc.severity && strings.Contains(f.Message, tc.message) {
					if label := filepath.Base(dir) + "/"; !strings.HasPrefix(f.Subject, label+"main.go:") && f.Subject != label {
						t.Fatalf("finding does not name the file and line: %+v", f)
					}
					return
				}
			}
			t.Fatalf("no %s finding mentioning %q: %+v", tc.severity, tc.message, fs)
		})
	}
}

func TestDaggerModuleCommentsDoNotCount(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.go"), []byte(moduleHeader+`
// Never use InsecureRootCapabilities, Plaintext( or WithSecretVariable here.
func (M) Build(c *dagger.Container) *dagger.Container {
	return c.WithUser("1000").WithExec([]string{"echo", "InsecureRootCapabilities"})
}
`))
	fs, err := audit.CheckDaggerModule(dir)
	if err != nil || len(fs) != 0 {
		t.Fatalf("comments or strings flagged: %v %+v", err, fs)
	}
}

func TestDaggerModuleBadInput(t *testing.T) {
	if _, err := audit.CheckDaggerModule(t.TempDir()); err == nil {
		t.Fatal("a directory without Go files was checked")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.go"), []byte("package main\nfunc {"))
	if _, err := audit.CheckDaggerModule(dir); err == nil || !strings.Contains(err.Error(), "main.go") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestParseDaggerJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"name":"x","source":"ci"}`: "ci", `{"source":"./ci/"}`: "ci", `{"name":"x"}`: ".", `{"source":"."}`: ".",
		`{"source":"../elsewhere"}`: "error", `{"source":"/abs"}`: "error", `not json`: "error",
	} {
		got, err := audit.ParseDaggerJSON([]byte(in))
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseDaggerJSON(%s) = %q (%v), want %q", in, got, err, want)
		}
	}
	if dir, err := audit.FindDaggerModule(t.TempDir()); dir != "" || err != nil {
		t.Fatalf("project without dagger.json: %q %v", dir, err)
	}
}

func FuzzParseDaggerJSON(f *testing.F) {
	f.Add([]byte(`{"name":"reliquary","engineVersion":"v0.21.8","sdk":{"source":"go"},"source":"ci"}`))
	f.Add([]byte(`{"source":"../../x"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := audit.ParseDaggerJSON(data)
		if err != nil {
			return
		}
		if src != "." && (strings.HasPrefix(src, "/") || strings.Contains("/"+src+"/", "/../")) {
			t.Fatalf("accepted a source outside the project: %q", src)
		}
	})
}

// Run checks the module it is given and names it without the machine's path.
func TestRunChecksDaggerModule(t *testing.T) {
	dir := t.TempDir()
	goodImage(t, dir, "artifacts/app_v1.0.0.oci.tar", "v1.0.0")
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Source: bundle.Source{Repository: testRepo, Commit: testCommit}})
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "ci")
	writeFile(t, filepath.Join(bad, "main.go"), []byte(moduleHeader+"func (M) Leak(ctx context.Context, s *dagger.Secret) (string, error) { return s.Plaintext(ctx) }\n"))
	for _, tc := range []struct {
		module string
		want   string
		high   bool
	}{
		{filepath.Join("..", "..", "ci"), "Dagger module ci/: no privileged", false},
		{bad, "ci/main.go:10", true},
	} {
		r, err := audit.Run(context.Background(), audit.Input{Dir: dir, Manifest: out.Manifest, CommitTime: commitTime, Build: hermetic, DaggerModule: tc.module})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(r.Checked, "\n")
		for _, f := range r.Findings {
			text += "\n" + f.Subject + ": " + f.Message
		}
		if !strings.Contains(text, tc.want) || (r.Err() != nil) != tc.high || strings.Contains(text, os.TempDir()) {
			t.Errorf("module %s: %v\n%s", tc.module, r.Err(), text)
		}
	}
}
