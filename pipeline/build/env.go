package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// Toolchain is the Go toolchain a build ran with.
type Toolchain struct {
	Version   string `json:"version"`   // "go1.26.8"
	GoVersion string `json:"goVersion"` // `go version` output: "go version go1.26.8 linux/amd64"
}

// hostGo is what the build learns from the go command before building.
type hostGo struct {
	bin       string
	toolchain Toolchain
	gocache   string
	modcache  string
	gopath    string
	ports     map[string]bool // `go tool dist list`
	// gotoolchain is GOTOOLCHAIN of every build command: "local", or the lock's pinned version.
	gotoolchain string
}

// goEnvJSON is `go env -json` for the variables the build needs from the user's setup.
type goEnvJSON struct {
	GOCACHE, GOMODCACHE, GOPATH, GOVERSION, GOHOSTOS, GOHOSTARCH string
}

// probeGo asks the go command, in the user's environment (where GOCACHE and GOMODCACHE may
// be set, also in the Go env file) but with GOFLAGS and GOTOOLCHAIN neutralized, where its
// caches are and which toolchain it is; then lists the platforms it can target. With a lock
// that pins a toolchain, it checks the module cache's copy against the lock and asks that
// toolchain instead, in the build's own environment; without a lock, it does the same for
// the toolchain source's go.mod pins (freeze.PinnedBy), which the go command then checks
// against its cached checksum database lookup only.
func probeGo(ctx context.Context, s *settings, source string) (*hostGo, error) {
	h := &hostGo{bin: s.goBin, gotoolchain: freeze.ToolchainLocal}
	env := overrideEnv(os.Environ(), map[string]string{"GOFLAGS": "", "GOTOOLCHAIN": "local", "GOWORK": "off"})
	out, err := runGo(ctx, h.bin, "", env, "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOVERSION", "GOHOSTOS", "GOHOSTARCH")
	if err != nil {
		return nil, err
	}
	var ge goEnvJSON
	if err := json.Unmarshal(out, &ge); err != nil {
		return nil, fmt.Errorf("build: go env -json: %w", err)
	}
	h.gocache, h.modcache, h.gopath = ge.GOCACHE, ge.GOMODCACHE, ge.GOPATH
	h.toolchain.Version = ge.GOVERSION
	if s.goCache != "" {
		h.gocache = s.goCache
	}
	if s.modCache != "" {
		h.modcache = s.modCache
	}
	if h.gocache == "" || h.gocache == "off" || h.modcache == "" {
		return nil, fmt.Errorf("build: the go command reports no usable GOCACHE (%q) or GOMODCACHE (%q)", h.gocache, h.modcache)
	}
	if env, err = h.selectToolchain(ctx, s.lock, source, ge, env); err != nil {
		return nil, err
	}
	if out, err = runGo(ctx, h.bin, "", env, "version"); err != nil {
		return nil, err
	}
	h.toolchain.GoVersion = strings.TrimSpace(string(out))
	if out, err = runGo(ctx, h.bin, "", env, "tool", "dist", "list"); err != nil {
		return nil, err
	}
	h.ports = map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		h.ports[p] = true
	}
	return h, nil
}

// selectToolchain picks the build toolchain: the lock's, else the one go.mod pins, else the
// local one (env unchanged). A pinned one is first checked against the lock's hash.
func (h *hostGo) selectToolchain(ctx context.Context, lock *freeze.Lock, source string, ge goEnvJSON, env []string) ([]string, error) {
	var version string
	switch {
	case lock != nil && lock.Toolchain.Pinned != nil:
		if err := freeze.VerifyToolchain(h.modcache, ge.GOHOSTOS, ge.GOHOSTARCH, lock.Toolchain.Pinned); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		version = lock.Toolchain.Pinned.Version
	case lock == nil:
		var err error
		if version, err = goModPin(source, ge.GOVERSION); err != nil {
			return nil, err
		}
	}
	if version == "" {
		return env, nil
	}
	return h.switchTo(ctx, version)
}

// goModPin is the toolchain the module's go.mod pins, or "".
func goModPin(source, local string) (string, error) {
	name := filepath.Join(source, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	f, err := modfile.Parse(name, data, nil) // strict: ParseLax skips the toolchain line
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	var goLine, toolchain string
	if f.Go != nil {
		goLine = f.Go.Version
	}
	if f.Toolchain != nil {
		toolchain = f.Toolchain.Name
	}
	return freeze.PinnedBy(goLine, toolchain, local), nil
}

// switchTo switches the probe to a pinned toolchain, with the environment the build
// commands get (GOPROXY=off: it must be in the module cache, where freeze put it).
func (h *hostGo) switchTo(ctx context.Context, version string) ([]string, error) {
	// The go command runs a binary named like the toolchain from PATH (the go binary's
	// directory, in the build) before the module cache's: that one would not be checked.
	if _, err := exec.LookPath(filepath.Join(filepath.Dir(h.bin), version)); err == nil {
		return nil, fmt.Errorf("build: %s lies next to %s, and the go command would run it instead of the checked toolchain from the module cache: remove it, or build with another go", version, h.bin)
	}
	h.gotoolchain = version
	env := append(h.recordedEnv(), h.hostEnv(os.TempDir())...)
	out, err := runGo(ctx, h.bin, "", env, "env", "GOVERSION")
	if err != nil {
		return nil, fmt.Errorf("build: switching to the toolchain go.mod pins, %s (GOTOOLCHAIN=%s GOPROXY=off; reliquary freeze fetches it): %w", version, version, err)
	}
	h.toolchain.Version = strings.TrimSpace(string(out))
	return env, nil
}

// overrideEnv returns env with the given variables replaced. (An empty GOFLAGS drops an
// exported one; a Go env file's GOFLAGS may still apply, which is harmless for the probe's
// go env, go version and go tool dist list.)
func overrideEnv(env []string, set map[string]string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// recordedEnv are the settings every build command runs with that decide the output's
// bytes; they are recorded in the Output for replay. The per-platform GOOS/GOARCH and
// micro-architecture levels are added per command. GOENV=off keeps the user's Go env file
// (which may set GOFLAGS, GOAMD64, GOEXPERIMENT...) out; the rest of the environment is
// not inherited at all. GOTOOLCHAIN is "local", or the version the lock pins: the go
// command then runs that toolchain from the module cache (GOPROXY=off: it never downloads),
// checking it against its cached checksum database lookup, as freeze left both.
func (h *hostGo) recordedEnv() []string {
	return []string{
		"CGO_ENABLED=0",
		"GOENV=off",
		"GOFLAGS=-mod=readonly",
		"GOPROXY=off",
		"GOTOOLCHAIN=" + h.gotoolchain,
		"GOWORK=off",
	}
}

// hostEnv are the settings that locate things on this machine and do not reach the output
// (-trimpath removes paths); they are not recorded.
func (h *hostGo) hostEnv(home string) []string {
	env := []string{
		"PATH=" + filepath.Dir(h.bin),
		"HOME=" + home,
		"GOCACHE=" + h.gocache,
		"GOMODCACHE=" + h.modcache,
		"GOPATH=" + h.gopath,
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}

// platformEnv is GOOS/GOARCH and the micro-architecture level for one platform, pinned to
// the baseline so that a GOAMD64 or GOARM64 the user exports cannot change the bytes.
func platformEnv(p Platform) []string {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch}
	switch p.Arch {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	case "arm":
		v := strings.TrimPrefix(p.Variant, "v")
		if v == "" {
			v = "7"
		}
		env = append(env, "GOARM="+v)
	}
	return env
}

// Time sources, recorded in the Output.
const (
	TimeFromOption = "option"
	TimeFromEnv    = "SOURCE_DATE_EPOCH"
	TimeFromGit    = "git"
)

// resolveTime picks the commit time: an explicit option, else SOURCE_DATE_EPOCH, else the
// source's git HEAD commit time. Wall-clock time is never used.
func resolveTime(ctx context.Context, dir string, s *settings) (time.Time, string, error) {
	if !s.time.IsZero() {
		return s.time.UTC(), TimeFromOption, nil
	}
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, "", fmt.Errorf("build: SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds", v)
		}
		return time.Unix(sec, 0).UTC(), TimeFromEnv, nil
	}
	repo, err := gitlog.Open(ctx, dir)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("build: no commit time: set SOURCE_DATE_EPOCH, build inside a git checkout, or pass a time (%v)", err)
	}
	t, err := repo.CommitTime(ctx, "HEAD")
	if err != nil {
		return time.Time{}, "", fmt.Errorf("build: commit time of HEAD: %w", err)
	}
	return t, TimeFromGit, nil
}

// resolveCommit returns the commit to stamp: the given one, else git HEAD, else "".
func resolveCommit(ctx context.Context, dir, commit string) string {
	if commit != "" {
		return commit
	}
	repo, err := gitlog.Open(ctx, dir)
	if err != nil {
		return ""
	}
	c, err := repo.Resolve(ctx, "HEAD")
	if err != nil {
		return ""
	}
	return c
}
