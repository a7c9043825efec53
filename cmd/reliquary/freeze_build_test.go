package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

func TestFreezeThenBuild(t *testing.T) {
	src := buildtest.Project(t, "uuidapp")
	cache := buildtest.ModCache(t)
	lock := filepath.Join(t.TempDir(), "deps.lock.json")
	code, out, stderr := cli(t, "freeze", src, "--mod-cache", cache, "--out", lock, "--image", "cgr.dev/chainguard/static@sha256:"+strings.Repeat("ab", 32))
	if code != exitOK || !strings.HasPrefix(out, lock+" sha256:") {
		t.Fatalf("freeze exit %d: %q %s", code, out, stderr)
	}
	if _, err := freeze.ReadLock(lock); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	code, out, stderr = cli(t, "build", src, "--version", "v0.1.0", "--commit", "c0ffee", "--platforms", "linux/amd64",
		"--out", dist, "--mod-cache", cache, "--lock", lock, "--source-date-epoch", "1700000000")
	if code != exitOK {
		t.Fatalf("build exit %d: %s", code, stderr)
	}
	for _, name := range []string{"uuidapp_v0.1.0_linux_amd64.tar.gz", "uuidapp_v0.1.0.oci.tar", "uuidapp_v0.1.0_docs.tar.gz"} {
		p := filepath.Join(dist, "artifacts", name)
		if !strings.Contains(out, "  "+p+"\n") {
			t.Errorf("stdout does not list %s:\n%s", p, out)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	// Building into the same directory again is refused: no stale artifact may be released.
	if code, _, stderr = cli(t, "build", src, "--version", "v0.1.0", "--platforms", "linux/amd64", "--out", dist, "--mod-cache", cache, "--source-date-epoch", "1"); code != exitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("rebuild into a used directory: exit %d %s", code, stderr)
	}
}

func TestFreezeGate(t *testing.T) {
	src := buildtest.Project(t, "uuidapp")
	if err := os.WriteFile(filepath.Join(src, "go.sum"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(t.TempDir(), "deps.lock.json")
	code, _, stderr := cli(t, "freeze", src, "--mod-cache", buildtest.ModCache(t), "--out", lock, "--image", "alpine:3")
	if code != exitFailed || !strings.Contains(stderr, "[go-sum-missing] github.com/google/uuid v1.6.0") || !strings.Contains(stderr, "[image-digest] alpine:3") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("a lock was written for an unfrozen module")
	}
	if code, _, stderr = cli(t, "freeze", src, "--allow", "go-sum-missing"); code != exitUsage || !strings.Contains(stderr, "cannot be waived") {
		t.Errorf("--allow go-sum-missing: exit %d %s", code, stderr)
	}
	if code, _, _ = cli(t, "build", src, "--out", t.TempDir()); code != exitUsage {
		t.Errorf("build without --version: exit %d", code)
	}
}
