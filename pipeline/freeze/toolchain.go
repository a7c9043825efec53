package freeze

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ToolchainModule is the module the go command fetches Go toolchains as, through the module
// proxy and checked by the checksum database (`GOTOOLCHAIN=go1.22.6`).
const ToolchainModule = "golang.org/toolchain"

// Toolchain modes (WithToolchain): follow go.mod (the default), or the local go command's.
const (
	ToolchainGoMod = "go.mod"
	ToolchainLocal = "local"
)

// WithToolchain chooses the toolchain the builds run with. ToolchainGoMod (the default):
// the one go.mod pins (its toolchain line, else a go line newer than the local Go), fetched
// as golang.org/toolchain; the local go command's when go.mod pins nothing newer.
// ToolchainLocal: the local go command's, whatever go.mod says; the lock records the choice.
func WithToolchain(mode string) Option {
	return func(s *settings) error {
		switch mode {
		case "", ToolchainGoMod:
			s.toolchain = ToolchainGoMod
		case ToolchainLocal:
			s.toolchain = ToolchainLocal
		default:
			return fmt.Errorf("freeze: toolchain %q: want %s or %s", mode, ToolchainGoMod, ToolchainLocal)
		}
		return nil
	}
}

// wantToolchain is the toolchain go.mod pins, like "go1.22.6", or "" when the local one
// serves: the toolchain line (exactly, older or newer than the local Go; "default" means the
// local one, as for the go command), else a go line newer than the local Go (as the go
// command picks it: language version 1.N means 1.N.0).
func wantToolchain(mf modFile, local string) string {
	switch mf.Toolchain {
	case "":
	case "default", local:
		return ""
	default:
		return mf.Toolchain
	}
	want, ok1 := goVersionKey(mf.Go)
	have, ok2 := goVersionKey(local)
	if !ok1 || !ok2 || !goVersionLess(have, want) {
		return ""
	}
	v := "go" + mf.Go
	if want[2] == 0 && !goVersionLess(want, [5]int{1, 21}) {
		v += ".0"
	}
	return v
}

// PinnedBy is the toolchain a go.mod with the given go and toolchain lines pins, like
// "go1.22.6", or "" when the local toolchain (local, like "go1.26.8") serves: the rule freeze
// follows by default (WithToolchain).
func PinnedBy(goLine, toolchainLine, local string) string {
	return wantToolchain(modFile{Go: goLine, Toolchain: toolchainLine}, local)
}

// selectToolchain decides the build toolchain and reports what stands in its way.
func (st *state) selectToolchain(mf modFile) []Problem {
	want := wantToolchain(mf, st.local)
	if st.s.toolchain == ToolchainLocal || want == "" {
		st.tc = Toolchain{Directive: mf.Toolchain, Local: st.local}
		if st.s.toolchain == ToolchainLocal {
			st.tc.Mode = ToolchainLocal
		}
		return checkGoLine(mf, st.local, "the local toolchain", "--toolchain local builds with it")
	}
	st.tc = Toolchain{Directive: mf.Toolchain, Pinned: &Pinned{Version: want}}
	if k, ok := goVersionKey(want); !ok || k[2] != 3 && k[2] != 2 && k[2] != 1 {
		return []Problem{{CheckToolchain, "go.mod", fmt.Sprintf("toolchain %s is not a Go release the go command can fetch (goX.Y.Z, goX.YrcN): pin a release, or build with --toolchain local", want)}}
	}
	return checkGoLine(mf, want, "the toolchain go.mod pins", "")
}

// checkGoLine requires a go line, and one the build toolchain (named by what) can build.
func checkGoLine(mf modFile, toolchain, what, why string) []Problem {
	if mf.Go == "" {
		return []Problem{{CheckGoDirective, "go.mod", "no go directive: add one (go mod edit -go=" + strings.TrimPrefix(toolchain, "go") + ")"}}
	}
	want, ok1 := goVersionKey(mf.Go)
	have, ok2 := goVersionKey(toolchain)
	if ok1 && ok2 && goVersionLess(have, want) {
		detail := fmt.Sprintf("go %s is newer than %s %s", mf.Go, what, toolchain)
		if why != "" {
			detail += " (" + why + ")"
		}
		return []Problem{{CheckGoDirective, "go.mod", detail}}
	}
	return nil
}

// toolchainEnv is GOTOOLCHAIN for the freeze's own go commands: the local go command while
// it can read go.mod's go line (its go mod tidy -diff exists on every toolchain it can
// read), else the pinned toolchain, which can.
func (st *state) toolchainEnv(mf modFile) string {
	want, ok1 := goVersionKey(mf.Go)
	have, ok2 := goVersionKey(st.local)
	if st.tc.Pinned != nil && ok1 && ok2 && goVersionLess(have, want) {
		return st.tc.Pinned.Version
	}
	return ToolchainLocal
}

// fetchToolchain downloads the pinned toolchain for this host into the module cache with
// `go mod download`, which checks it against the checksum database (the go command does so
// for golang.org/toolchain even with GOSUMDB=off or GONOSUMDB, and fails if it cannot),
// then checks the unpacked copy against that hash, and records module and hash in the lock.
func (st *state) fetchToolchain(ctx context.Context) []Problem {
	p := st.tc.Pinned
	res, err := st.gocmd.run(ctx, "env", "GOHOSTOS", "GOHOSTARCH")
	host := strings.Fields(string(res.stdout))
	if err != nil || res.code != 0 || len(host) != 2 {
		return []Problem{{CheckToolchain, p.Version, fmt.Sprintf("go env GOHOSTOS GOHOSTARCH: %v %s", err, res.message())}}
	}
	version := ToolchainVersion(p.Version, host[0], host[1])
	st.s.log.Info("freeze: fetching the pinned toolchain", "toolchain", p.Version, "module", ToolchainModule+"@"+version)
	// Outside any module (st.tmp holds no go.mod), so the project's go.mod is not consulted.
	g := st.gocmd
	g.dir = st.tmp
	res, err = g.run(ctx, "mod", "download", "-json", ToolchainModule+"@"+version)
	if err != nil {
		return []Problem{{CheckToolchain, p.Version, err.Error()}}
	}
	var d struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(res.stdout, &d); jerr != nil || d.Error != "" || res.code != 0 {
		msg := d.Error
		if msg == "" {
			msg = res.message()
		}
		return []Problem{{CheckToolchain, p.Version, fmt.Sprintf("go mod download %s@%s: %s (the go command fetches a toolchain through GOPROXY and always checks it with the checksum database, GOSUMDB)", ToolchainModule, version, msg)}}
	}
	p.Module, p.Sum = ToolchainModule+"@"+version, d.Sum
	if err := checkToolchainDir(d.Dir, p); err != nil {
		return []Problem{{CheckToolchain, p.Module, err.Error()}}
	}
	return nil
}

// toolchainVersionPrefix starts every golang.org/toolchain version.
const toolchainVersionPrefix = "v0.0.1-"

// ToolchainVersion is the golang.org/toolchain version of a Go release for one host.
func ToolchainVersion(goVersion, goos, goarch string) string {
	return toolchainVersionPrefix + goVersion + "." + goos + "-" + goarch
}

// VerifyToolchain checks that the module cache modCache holds the toolchain p names, for the
// host goos/goarch, unchanged: the build runs it only then.
func VerifyToolchain(modCache, goos, goarch string, p *Pinned) error {
	want := ToolchainModule + "@" + ToolchainVersion(p.Version, goos, goarch)
	if p.Module != want {
		return fmt.Errorf("the lock pins %s, but this host needs %s: freeze on this host", p.Module, want)
	}
	return checkToolchainDir(filepath.Join(modCache, filepath.FromSlash(p.Module)), p)
}

// checkToolchainDir compares an unpacked toolchain with its module hash. The go command
// unpacks a toolchain's _go.mod files and then copies each to go.mod beside it (a module zip
// may not hold nested go.mod files); those copies are left out of the hash once they are
// found identical to their _go.mod.
func checkToolchainDir(dir string, p *Pinned) error {
	if !h1RE.MatchString(p.Sum) {
		return fmt.Errorf("toolchain sum %q is not an h1: hash", p.Sum)
	}
	got, err := hashDir(dir, p.Module, isToolchainCopy)
	if err != nil {
		return fmt.Errorf("toolchain %s in the module cache: %w", p.Module, err)
	}
	if got != p.Sum {
		return fmt.Errorf("toolchain %s in the module cache (%s) hashes to %s, want %s: it was changed; remove it (go clean -modcache) and freeze again", p.Module, dir, got, p.Sum)
	}
	return nil
}

// isToolchainCopy reports whether p is a go.mod the go command copied from _go.mod.
func isToolchainCopy(p string) (bool, error) {
	if filepath.Base(p) != "go.mod" {
		return false, nil
	}
	orig, err := os.ReadFile(filepath.Join(filepath.Dir(p), "_go.mod"))
	if err != nil {
		return false, nil // no _go.mod: a real file, hashed
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return false, err
	}
	if string(data) != string(orig) {
		return false, fmt.Errorf("%s differs from the _go.mod it was copied from", p)
	}
	return true, nil
}
