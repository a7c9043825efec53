package citest_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const gateJob = "provenance-gate"

// needsList is a job's needs: a name, a list of names, or (GitLab) a list of {job: name}.
type needsList []string

func (n *needsList) UnmarshalYAML(v *yaml.Node) error {
	switch v.Kind {
	case yaml.ScalarNode:
		*n = needsList{v.Value}
		return nil
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if item.Kind == yaml.ScalarNode {
				*n = append(*n, item.Value)
				continue
			}
			var obj struct {
				Job string `yaml:"job"`
			}
			if err := item.Decode(&obj); err != nil {
				return err
			}
			*n = append(*n, obj.Job)
		}
		return nil
	}
	return nil
}

type ghWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]ghJob  `yaml:"jobs"`
}

type ghJob struct {
	If    string    `yaml:"if"`
	Needs needsList `yaml:"needs"`
	Steps []ghStep  `yaml:"steps"`
}

type ghStep struct {
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// runsCall reports whether a step of j calls the module with arguments matching match
// (whitespace collapsed).
func (j ghJob) runsCall(match func(string) bool) bool {
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "dagger/dagger-for-github@") && match(strings.Join(strings.Fields(s.With["call"]), " ")) {
			return true
		}
	}
	return false
}

// needsTransitively reports whether job depends on target through needs.
func needsTransitively(needs map[string][]string, job, target string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(j string) bool {
		for _, n := range needs[j] {
			if n == target || (!seen[n] && func() bool { seen[n] = true; return walk(n) }()) {
				return true
			}
		}
		return false
	}
	return walk(job)
}

var secretExpr = regexp.MustCompile(`\$\{\{\s*secrets\.`)

// GitHub Actions: the gate runs first and every other job needs it; the tag-triggered release
// takes the key from the secret store through the environment, never on a command line.
func TestGitHubExample(t *testing.T) {
	var wf ghWorkflow
	if err := yaml.Unmarshal(readFile(t, "examples/github-actions.yml"), &wf); err != nil {
		t.Fatalf("examples/github-actions.yml: %v", err)
	}
	if got := "v" + wf.Env["DAGGER_VERSION"]; got != engineVersion {
		t.Errorf("DAGGER_VERSION %s, want the module's engine %s", got, engineVersion)
	}
	needs := map[string][]string{}
	for name, j := range wf.Jobs {
		needs[name] = j.Needs
	}
	gate, ok := wf.Jobs[gateJob]
	if !ok {
		t.Fatalf("no %s job", gateJob)
	}
	if !gate.runsCall(func(s string) bool {
		return strings.HasPrefix(s, "verify --bundle=") && strings.Contains(s, "--public-key=")
	}) {
		t.Errorf("%s does not run `verify --bundle=... --public-key=...`", gateJob)
	}
	release, ok := wf.Jobs["release"]
	if !ok || !strings.Contains(release.If, "refs/tags/") {
		t.Fatalf("no tag-triggered release job (if: %q)", release.If)
	}
	if !release.runsCall(func(s string) bool {
		return strings.HasPrefix(s, "release ") && strings.Contains(s, "--signing-key=env://") && strings.Contains(s, "bundle export")
	}) {
		t.Error("the release job does not run `release ... --signing-key=env://... bundle export`")
	}
	if !release.runsCall(func(s string) bool { return readsSourceFromGit(s) && strings.Contains(s, "--invocation-id=") }) {
		t.Error("the release job should let the module read commit, repository and time from .git (no --commit, --repository, --source-date-epoch) and name the run with --invocation-id")
	}
	if !slices.ContainsFunc(release.Steps, func(s ghStep) bool {
		return strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["fetch-depth"] == "0" && s.With["persist-credentials"] == "false"
	}) {
		t.Error("the release job must check out the full history (fetch-depth: 0; the module reads .git) without leaving the token in .git/config (persist-credentials: false)")
	}
	for name, j := range wf.Jobs {
		if name != gateJob && name != "release" && !needsTransitively(needs, name, gateJob) {
			t.Errorf("job %s does not depend on %s: it could run on a bundle that failed the gate", name, gateJob)
		}
		for _, s := range j.Steps {
			for _, text := range []string{s.Run, s.With["call"], s.With["args"]} {
				if secretExpr.MatchString(text) {
					t.Errorf("job %s puts a secret on a command line: %q", name, text)
				}
			}
		}
	}
}

type glJob struct {
	Stage     string            `yaml:"stage"`
	Needs     needsList         `yaml:"needs"`
	Script    []string          `yaml:"script"`
	Variables map[string]string `yaml:"variables"`
	Rules     []struct {
		If string `yaml:"if"`
	} `yaml:"rules"`
}

// readsSourceFromGit reports whether a release call leaves the source's commit, repository
// and commit time to the module, which reads them from .git.
func readsSourceFromGit(call string) bool {
	for _, f := range []string{"--commit=", "--repository=", "--source-date-epoch="} {
		if strings.Contains(call, f) {
			return false
		}
	}
	return true
}

// GitLab CI: the same promises.
func TestGitLabExample(t *testing.T) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(readFile(t, "examples/gitlab-ci.yml"), &doc); err != nil {
		t.Fatalf("examples/gitlab-ci.yml: %v", err)
	}
	var vars map[string]string
	if v, ok := doc["variables"]; !ok || v.Decode(&vars) != nil || "v"+vars["DAGGER_VERSION"] != engineVersion {
		t.Errorf("variables.DAGGER_VERSION %q, want the module's engine %s", vars["DAGGER_VERSION"], engineVersion)
	}
	jobs := map[string]glJob{}
	needs := map[string][]string{}
	for name, node := range doc {
		if strings.HasPrefix(name, ".") || name == "variables" || name == "stages" {
			continue
		}
		var j glJob
		if err := node.Decode(&j); err != nil {
			t.Fatalf("job %s: %v", name, err)
		}
		jobs[name], needs[name] = j, j.Needs
	}
	script := func(j glJob) string { return strings.Join(strings.Fields(strings.Join(j.Script, " ")), " ") }
	if g, ok := jobs[gateJob]; !ok || !regexp.MustCompile(`call verify --bundle=\S+ --public-key=`).MatchString(script(g)) {
		t.Errorf("no %s job running `call verify --bundle=... --public-key=...`", gateJob)
	}
	rel, ok := jobs["release"]
	if !ok || len(rel.Rules) == 0 || !strings.Contains(rel.Rules[0].If, "CI_COMMIT_TAG") {
		t.Fatal("no tag-triggered release job")
	}
	if s := script(rel); !strings.Contains(s, "call release") || !regexp.MustCompile(`--signing-key="?(file|env)://`).MatchString(s) {
		t.Errorf("the release job does not pass the key as a secret reference: %s", s)
	}
	if s := script(rel); !readsSourceFromGit(s) || !strings.Contains(s, "--invocation-id=") || rel.Variables["GIT_DEPTH"] != "0" {
		t.Errorf("the release job should clone in full (GIT_DEPTH: 0, got %q), let the module read the source from .git and pass --invocation-id: %s",
			rel.Variables["GIT_DEPTH"], s)
	}
	for name, j := range jobs {
		if name != gateJob && name != "release" && !needsTransitively(needs, name, gateJob) {
			t.Errorf("job %s does not depend on %s", name, gateJob)
		}
		if strings.Contains(script(j), "$RELIQUARY_PASSWORD") || strings.Contains(script(j), "${RELIQUARY_PASSWORD}") {
			t.Errorf("job %s expands the key password on a command line", name)
		}
	}
}

func TestNeedsTransitively(t *testing.T) {
	needs := map[string][]string{"publish": {"test"}, "test": {"gate"}, "lint": {"build"}, "build": {"lint"}}
	if !needsTransitively(needs, "publish", "gate") || needsTransitively(needs, "lint", "gate") {
		t.Error("needsTransitively is wrong")
	}
}
