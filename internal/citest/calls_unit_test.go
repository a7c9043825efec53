package citest_test

import (
	"strings"
	"testing"
)

// fakeModule is an invented module for testing the call checker: a constructor with an
// optional flag, a function with required, optional, defaulted and boolean arguments, a
// returned object with a public and a private field, and a chain to a core type.
const fakeModule = `// Fake is a module for tests.
package main

// Fake is the main object.
type Fake struct {
	// The image.
	Image string
	// Hidden state.
	State *dagger.Directory // +private
}

// New configures it.
func New(
	// Base image.
	// +optional
	image string,
) *Fake {
	return &Fake{Image: image}
}

// Result is what Release returns.
type Result struct {
	// The bundle.
	Out *dagger.Directory
	// The report.
	Report *dagger.File
	// Internal.
	Work *dagger.Directory // +private
	// A nested object.
	Child *Child
}

// Child is nested.
type Child struct {
	// Its name.
	Label string
}

// Release builds things.
func (f *Fake) Release(
	ctx context.Context,
	// Source tree.
	// +defaultPath="/"
	source *dagger.Directory,
	// Version.
	version string,
	// The commit.
	commitSha string,
	// Level.
	// +default="3"
	level int,
	// Verbose output.
	// +optional
	verbose bool,
	// Run identity.
	// +optional
	invocationID string,
) (*Result, error) {
	return nil, nil
}

// Bundle hands out the result.
func (r *Result) Bundle(ctx context.Context) (*dagger.Directory, error) { return r.Out, nil }

// Check returns nothing but an error.
func (f *Fake) Check(ctx context.Context) error { return nil }

// Count is a number.
func (f *Fake) Count() int { return 0 }

// Tar is a core type the checker does not model.
func (f *Fake) Tar() *dagger.Container { return nil }

func (f *Fake) unexported() string { return "" }
`

func fakeAPI(t testing.TB) *callAPI {
	t.Helper()
	m, err := parseModuleFiles(map[string][]byte{"fake.go": []byte(fakeModule)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := buildCallAPI(m, "Fake")
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// checkText finds the dagger calls of a snippet (as a shell script, a Markdown file or a CI
// YAML file) and checks them against the fake module.
func checkText(t *testing.T, kind, text string) (errs []string, found int) {
	t.Helper()
	var cmds []daggerCmd
	switch kind {
	case "sh":
		cmds = findDaggerCalls(text, 1, checkOpts{}, shellVars{})
	case "md":
		cmds = markdownCalls(text)
	case "yaml":
		var err error
		if cmds, err = yamlCalls([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	api := fakeAPI(t)
	for _, c := range cmds {
		errs = append(errs, c.errs...)
		errs = append(errs, checkCall(api, c.args, c.opts)...)
	}
	return errs, len(cmds)
}

func TestCallChecker(t *testing.T) {
	const ok = "--version=v1 --commit-sha=abc"
	for _, tc := range []struct {
		name, kind, text string
		want             []string // substrings of the errors, in order; none: no error
	}{
		{"valid chain to a core type", "sh", "dagger call release " + ok + " bundle export --path=dist", nil},
		{"flag value as the next word", "sh", "dagger call release --version v1 --commit-sha abc bundle export --path dist", nil},
		{"constructor flag, boolean flag, acronym", "sh", "dagger call --image=x release " + ok + " --verbose --invocation-id=$RUN_URL bundle", nil},
		{"public field chain", "sh", "dagger call release " + ok + " report export --path=r.json", nil},
		{"nested object field", "sh", "dagger call release " + ok + " child label", nil},
		{"unknown flag", "sh", "dagger call release " + ok + " --builder-id=x bundle", []string{"release has no flag --builder-id"}},
		{"missing required argument", "sh", "dagger call release --version=v1 bundle", []string{"release: required --commit-sha is missing"}},
		{"unknown function", "sh", "dagger call relase " + ok, []string{`Fake has no function "relase"`}},
		{"unexported method", "sh", "dagger call unexported", []string{`has no function "unexported"`}},
		{"private field", "sh", "dagger call release " + ok + " work", []string{`Result has no function "work"`}},
		{"unknown core function", "sh", "dagger call release " + ok + " bundle exprt --path=x", []string{`dagger Directory has no function "exprt"`}},
		{"core function's required flag", "sh", "dagger call release " + ok + " bundle export", []string{"export: required --path is missing"}},
		{"nothing follows a scalar", "sh", "dagger call count export", []string{"count returns int: nothing can follow"}},
		{"nothing follows an error-only function", "sh", "dagger call check foo", []string{"check returns nothing"}},
		{"unmodelled core type ends the check", "sh", "dagger call tar anything --at-all", nil},
		{"constructor flag unknown", "sh", "dagger call --go-image=x count", []string{"constructor (flags before the first function) has no flag --go-image"}},
		{"flag without value at the end", "sh", "dagger call release --commit-sha=a --version", []string{"--version needs a value"}},
		{"no function", "sh", "dagger call", []string{"no function called"}},
		{"not a call", "sh", "dagger functions && dagger check", nil},
		{"continuation lines", "sh", "dagger call release \\\n  --version=v1 \\\n  --bogus \\\n  bundle", []string{"no flag --bogus", "required --commit-sha"}},
		{"after a pipe, in a subshell", "sh", "x=$(dagger call release " + ok + " bundle | tee log) # dagger call bogus", nil},
		{"$VAR standing for flags", "sh", "FLAGS=\"--version=$(git describe) --commit-sha=$(git rev-parse HEAD)\"\ndagger call release $FLAGS bundle", nil},
		{"$VAR not set", "sh", "dagger call release $NOPE", []string{"$NOPE stands for arguments but is not set", "required --version", "required --commit-sha"}},
		{"quoted values, -m", "sh", `dagger -m ./x call release --version="$TAG" --commit-sha='a b' bundle`, nil},
		{"markdown block and bracketed options", "md", "text\n\n```sh\ndagger call release " + ok + " [--level=4] \\\n    bundle\n```\n", nil},
		{"markdown block with a bad flag", "md", "```sh\ndagger call release " + ok + " [--lvl=4]\n```\n", []string{"no flag --lvl"}},
		{"prose mention: no required check", "md", "Run `dagger call release ...` or `dagger call release` to release.", nil},
		{"prose mention: flags checked", "md", "Pin with `dagger call verify ... --expect-version=v1`.", []string{`Fake has no function "verify"`}},
		{"elision skips the required check", "sh", "dagger call release --version=v1 ... bundle", nil},
		{"gitlab folded script", "yaml", "release:\n  script:\n    - >\n      dagger call release\n      --version=\"$CI_COMMIT_TAG\"\n      --commit-sha=\"$CI_COMMIT_SHA\"\n      --nope=1\n      bundle export --path=dist\n", []string{"no flag --nope"}},
		{"github action call input", "yaml", "steps:\n  - uses: dagger/dagger-for-github@v8\n    with:\n      call: >-\n        release\n        --version=${{ github.ref_name }}\n        --commit-sha=${{ github.sha }}\n        --invocation-id=${{ github.server_url }}/runs/${{ github.run_id }}\n        bundle export --path=dist\n", nil},
		{"github action call input, missing argument", "yaml", "steps:\n  - uses: dagger/dagger-for-github@v8\n    with:\n      call: release --version=${{ github.ref_name }} bundle\n", []string{"required --commit-sha"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, found := checkText(t, tc.kind, tc.text)
			if found == 0 && tc.want != nil {
				t.Fatalf("no dagger call found in %q", tc.text)
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %q, want %d matching %q", errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i], w) {
					t.Errorf("error %d: %q, want %q", i, errs[i], w)
				}
			}
		})
	}
}

// A command's -m names a module of this repository, or the check cannot see it.
func TestResolveModule(t *testing.T) {
	mods := &moduleSet{root: root(t), apis: map[string]*callAPI{}}
	for ref, want := range map[string]string{
		"": "Reliquary", ".": "Reliquary", "github.com/sentientos/reliquary": "Reliquary",
		"github.com/sentientos/reliquary@v1.0.0": "Reliquary", "./ci/tests": "Tests", "ci/tests": "Tests",
		"github.com/someone/else": "", "./no/such/dir": "",
	} {
		api, err := mods.resolve(ref)
		switch {
		case want == "" && err == nil:
			t.Errorf("-m %q resolved to %s, want an error", ref, api.main)
		case want != "" && (err != nil || api.main != want):
			t.Errorf("-m %q: %v, want %s", ref, err, want)
		}
	}
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"InvocationID": "invocation-id", "SourceDateEpoch": "source-date-epoch", "GoImageTarball": "go-image-tarball",
		"source": "source", "HTTPServer": "http-server", "sha256Sum": "sha256-sum", "Vsa": "vsa",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzDaggerCalls feeds arbitrary text through the scanners and the checker: they read
// every documentation file of the repository, so no input may make them panic or hang.
func FuzzDaggerCalls(f *testing.F) {
	f.Add("dagger call release --version=v1 --commit-sha=a bundle export --path=dist")
	f.Add("X=\"--a=$(b \"c\")\"\ndagger -m ./x call $X ${{ y }} [--z] ... \\\n | tee")
	f.Add("```sh\ndagger call release `x` $(\n```\n`dagger call ...`")
	f.Add("a:\n  - uses: dagger/dagger-for-github@v8\n    with: {call: \"release\", module: \".\"}\n")
	api := fakeAPI(f)
	f.Fuzz(func(t *testing.T, text string) {
		cmds := append(findDaggerCalls(text, 1, checkOpts{}, shellVars{}), markdownCalls(text)...)
		if more, err := yamlCalls([]byte(text)); err == nil {
			cmds = append(cmds, more...)
		}
		for _, c := range cmds {
			checkCall(api, c.args, c.opts)
		}
	})
}
