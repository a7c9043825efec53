package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// TestExpectedVersion: the gate accepts the release it was told to expect and fails, naming
// both, on any other (a rolled-back or swapped bundle is otherwise intact and signed).
func TestExpectedVersion(t *testing.T) {
	dir := testbundle.New(t, testbundle.Default()) // app v1.0.0
	for _, tc := range []struct {
		version, project string
		ok               bool
		expected         string
	}{
		{"v1.0.0", "", true, ""},
		{"v1.0.0", "app", true, ""},
		{"v1.0.1", "", false, "v1.0.1"},
		{"v1.0.0", "other", false, "other v1.0.0"},
	} {
		r := run(t, dir, verify.WithExpectedVersion(tc.version, tc.project), verify.WithDigestsOnlyUnsafe())
		f := findingOf(r, "release")
		switch {
		case tc.ok && (!r.Verified || f != nil || passes(r, "release") != 1):
			t.Errorf("expect %s %s: want a pass, got verified=%v %+v %+v", tc.project, tc.version, r.Verified, f, r.Checks)
		case !tc.ok && (r.Verified || f == nil || f.Problem != verify.ProblemWrongRelease || f.Expected != tc.expected || f.File != bundle.ManifestFile):
			t.Errorf("expect %s %s: want a wrong-release failure expecting %q, got verified=%v %+v", tc.project, tc.version, tc.expected, r.Verified, f)
		}
	}
	if _, err := verify.Run(context.Background(), dir, verify.WithExpectedVersion("", ""), verify.WithDigestsOnlyUnsafe()); err == nil {
		t.Error("an empty expected version was accepted")
	}
	// Without a usable manifest the check is skipped, not passed.
	os.WriteFile(filepath.Join(dir, bundle.ManifestFile), []byte("{"), 0o644)
	if f := findingOf(run(t, dir, verify.WithExpectedVersion("v1.0.0", ""), verify.WithDigestsOnlyUnsafe()), "release"); f == nil || f.Status != verify.Skip {
		t.Errorf("unusable manifest: want the release check skipped, got %+v", f)
	}
}

func findingOf(r *verify.Report, check string) *verify.Finding {
	for i := range r.Findings {
		if r.Findings[i].Check == check {
			return &r.Findings[i]
		}
	}
	return nil
}

// passes counts the passes of one check (findings hold only failures and skips).
func passes(r *verify.Report, check string) int {
	for _, c := range r.Checks {
		if c.Check == check {
			return c.Passed
		}
	}
	return 0
}
