package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// The replay's JSON result says whether the host's build cache was reused, and how long the
// replay took, also when it stops short of a rebuild (here: the bundle is signed by a key
// the replay does not trust).
func TestReplayReportsBuildCache(t *testing.T) {
	dir, _ := attestedRelease(t, "v1.0.0")
	other := filepath.Join(t.TempDir(), "other")
	if code, _, stderr := cli(t, "keygen", "--no-password", other); code != 0 {
		t.Fatal(stderr)
	}
	for _, reuse := range []bool{false, true} {
		args := []string{"replay", dir, "--source", t.TempDir(), "--key", other + ".pub", "--json"}
		if reuse {
			args = append(args, "--reuse-build-cache")
		}
		code, out, stderr := cli(t, args...)
		var res struct {
			ReusedBuildCache *bool
			Seconds          *float64
			Reproduced       bool
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: exit %d, %v\n%s\n%s", args, code, err, out, stderr)
		}
		if code != exitFailed || res.Reproduced || res.ReusedBuildCache == nil || *res.ReusedBuildCache != reuse || res.Seconds == nil || *res.Seconds < 0 {
			t.Errorf("%v: exit %d, result %s", args, code, out)
		}
	}
}
