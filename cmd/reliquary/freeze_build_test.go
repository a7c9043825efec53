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

// TestFreezeToolchainFlag: --toolchain local builds with the local Go over go.mod's pin and
// the lock says so; a mode that does not exist, and the old --allow toolchain, are usage
// errors.
func TestFreezeToolchainFlag(t *testing.T) {
	src := t.TempDir()
	buildtest.WriteFile(t, src, "go.mod", "module example.com/hello\n\ngo 1.22\n\ntoolchain go1.22.6\n")
	buildtest.WriteFile(t, src, "main.go", "package main\n\nfunc main() {}\n")
	lock := filepath.Join(t.TempDir(), "deps.lock.json")
	code, _, stderr := cli(t, "freeze", src, "--toolchain", "local", "--out", lock)
	if code != exitOK {
		t.Fatalf("freeze --toolchain local: exit %d %s", code, stderr)
	}
	l, err := freeze.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	if tc := l.Toolchain; tc.Mode != freeze.ToolchainLocal || tc.Pinned != nil || tc.Directive != "go1.22.6" || !strings.HasPrefix(tc.Local, "go") {
		t.Errorf("lock toolchain %+v", tc)
	}
	for _, args := range [][]string{{"--toolchain", "go1.22.6"}, {"--allow", "toolchain"}} {
		if code, _, stderr = cli(t, append([]string{"freeze", src, "--out", lock}, args...)...); code != exitUsage || !strings.Contains(stderr, "local") {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
}
