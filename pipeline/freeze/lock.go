package freeze

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/internal/strictjson"
)

// Schema identifies the deps.lock.json format; MediaType is its media type in a bundle.
const (
	Schema    = "https://reliquary.dev/deps-lock/v1"
	MediaType = "application/vnd.reliquary.deps-lock.v1+json"
)

// MaxLockSize bounds a deps.lock.json read back from disk or a bundle.
const MaxLockSize = 16 << 20

// Lock is the frozen dependency set of one Go module: the content of deps.lock.json.
// Lists are sorted; Digest is "sha256:" over the canonical JSON of every other field, so
// one value names the whole set.
type Lock struct {
	Schema    string    `json:"schema"`
	Module    string    `json:"module"`    // the main module's path
	Go        string    `json:"go"`        // go.mod's go directive
	Toolchain Toolchain `json:"toolchain"` // the toolchain the set was frozen with (and must be built with)
	Files     Files     `json:"files"`     // digests of go.mod and go.sum as frozen
	Modules   []Module  `json:"modules"`   // every module the build needs, by path then version
	Images    []Image   `json:"images,omitempty"`
	Allowed   []Check   `json:"allowed,omitempty"` // checks the user waived (Allow)
	Waived    []Problem `json:"waived,omitempty"`  // the problems those waivers let through
	Digest    string    `json:"digest"`

	memoHit bool // go mod verify was skipped by the verify memo (not written: the lock is the same)
}

// Toolchain records the Go toolchain every build of the set runs with: either the local go
// command's (Local; builds run with GOTOOLCHAIN=local and need that very version) or the one
// go.mod pins (Pinned; builds run with GOTOOLCHAIN=<version>, which the go command takes from
// the module cache, where freeze put it). Exactly one is set.
type Toolchain struct {
	Directive string  `json:"directive,omitempty"` // go.mod's toolchain line, as written
	Local     string  `json:"local,omitempty"`     // like "go1.26.8"
	Pinned    *Pinned `json:"pinned,omitempty"`
	// Mode is "local" when the user chose the local toolchain over go.mod's (--toolchain
	// local); empty when go.mod decided.
	Mode string `json:"mode,omitempty"`
}

// Pinned is a toolchain fetched as the golang.org/toolchain module, checked by the checksum
// database when freeze fetched it, and by its hash before every build.
type Pinned struct {
	Version string `json:"version"` // like "go1.22.6"
	Module  string `json:"module"`  // golang.org/toolchain@v0.0.1-go1.22.6.linux-amd64: the freezing host's build
	Sum     string `json:"sum"`     // its h1: hash, as in the checksum database
}

// Version is the version of the toolchain the builds run with.
func (t Toolchain) Version() string {
	if t.Pinned != nil {
		return t.Pinned.Version
	}
	return t.Local
}

// GOTOOLCHAIN is the value the builds run with.
func (t Toolchain) GOTOOLCHAIN() string {
	if t.Pinned != nil {
		return t.Pinned.Version
	}
	return ToolchainLocal
}

func (t Toolchain) validate() error {
	switch {
	case (t.Local == "") == (t.Pinned == nil):
		return fmt.Errorf("toolchain: want exactly one of local and pinned")
	case t.Mode != "" && (t.Mode != ToolchainLocal || t.Local == ""):
		return fmt.Errorf("toolchain.mode: %q, want %q with toolchain.local", t.Mode, ToolchainLocal)
	case t.Pinned == nil:
		if _, ok := goVersionKey(t.Local); !ok || !strings.HasPrefix(t.Local, "go") {
			return fmt.Errorf("toolchain.local: %q is not a Go version", t.Local)
		}
		return nil
	}
	p := t.Pinned
	_, ok := goVersionKey(p.Version)
	suffix := strings.TrimPrefix(p.Module, ToolchainModule+"@"+toolchainVersionPrefix+p.Version)
	switch {
	case !ok || !strings.HasPrefix(p.Version, "go"):
		return fmt.Errorf("toolchain.pinned.version: %q is not a Go version", p.Version)
	case suffix == p.Module || !toolchainHostRE.MatchString(suffix):
		return fmt.Errorf("toolchain.pinned.module: %q is not %s@%s", p.Module, ToolchainModule, ToolchainVersion(p.Version, "GOOS", "GOARCH"))
	case !h1RE.MatchString(p.Sum):
		return fmt.Errorf("toolchain.pinned.sum: %q is not an h1: hash", p.Sum)
	}
	return nil
}

// SameSet reports whether two locks freeze the same set, on hosts that may differ: a pinned
// toolchain is recorded as the freezing host's build of it (module and hash), so those two
// fields are left out of the comparison when the hosts differ.
func SameSet(a, b *Lock) bool {
	if a.Digest == b.Digest {
		return true
	}
	pa, pb := a.Toolchain.Pinned, b.Toolchain.Pinned
	if pa == nil || pb == nil || pa.Version != pb.Version || pa.Module == pb.Module {
		return false
	}
	da, err1 := withoutHost(a).ComputeDigest()
	db, err2 := withoutHost(b).ComputeDigest()
	return err1 == nil && err2 == nil && da == db
}

func withoutHost(l *Lock) *Lock {
	c := *l
	c.Toolchain.Pinned = &Pinned{Version: l.Toolchain.Pinned.Version}
	return &c
}

// Files holds "sha256:" digests of the module files the lock was made from.
type Files struct {
	GoMod string `json:"goMod"`
	GoSum string `json:"goSum,omitempty"` // empty when the module has no go.sum (no dependencies)
}

// Module is one dependency with its go.sum hashes.
type Module struct {
	Path     string   `json:"path"`
	Version  string   `json:"version,omitempty"`  // empty for a module replaced by a local directory
	Sum      string   `json:"sum,omitempty"`      // h1: hash of the module zip (or of the local directory)
	GoModSum string   `json:"goModSum,omitempty"` // h1: hash of its go.mod
	Replace  *Replace `json:"replace,omitempty"`
}

// Replace records a replace directive that applies to a module.
type Replace struct {
	Path    string `json:"path"`              // module path, or a local directory relative to the module root
	Version string `json:"version,omitempty"` // empty for a local directory
	Local   bool   `json:"local,omitempty"`
	Outside bool   `json:"outside,omitempty"` // the local directory lies outside the source tree (allowed by the user)
}

// Image is a base image pinned by digest.
type Image struct {
	Ref    string `json:"ref"`    // as given: name@sha256:...
	Name   string `json:"name"`   // repository, fully qualified
	Digest string `json:"digest"` // sha256:...
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	h1RE     = regexp.MustCompile(`^h1:[A-Za-z0-9+/]{43}=$`)
	// toolchainHostRE is the ".GOOS-GOARCH" that ends a golang.org/toolchain version.
	toolchainHostRE = regexp.MustCompile(`^\.[a-z0-9]+-[a-z0-9]+$`)
)

// ComputeDigest returns the digest over every field but Digest.
func (l *Lock) ComputeDigest() (string, error) {
	c := *l
	c.Digest = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("freeze: lock digest: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Seal sorts the lock's lists and sets Digest.
func (l *Lock) Seal() error {
	sort.Slice(l.Modules, func(i, j int) bool { return moduleKey(l.Modules[i]) < moduleKey(l.Modules[j]) })
	sort.Slice(l.Images, func(i, j int) bool { return l.Images[i].Ref < l.Images[j].Ref })
	sort.Slice(l.Allowed, func(i, j int) bool { return l.Allowed[i] < l.Allowed[j] })
	sortProblems(l.Waived)
	d, err := l.ComputeDigest()
	if err != nil {
		return err
	}
	l.Digest = d
	return nil
}

func moduleKey(m Module) string { return m.Path + "@" + m.Version }

// Validate checks the lock's fields and its digest; errors are named by field path.
func (l *Lock) Validate() error {
	switch {
	case l.Schema != Schema:
		return fmt.Errorf("schema: %q, want %q", l.Schema, Schema)
	case l.Module == "":
		return fmt.Errorf("module: empty")
	case l.Go == "":
		return fmt.Errorf("go: empty")
	case !digestRE.MatchString(l.Files.GoMod):
		return fmt.Errorf("files.goMod: %q is not a sha256: digest", l.Files.GoMod)
	case l.Files.GoSum != "" && !digestRE.MatchString(l.Files.GoSum):
		return fmt.Errorf("files.goSum: %q is not a sha256: digest", l.Files.GoSum)
	}
	if err := l.Toolchain.validate(); err != nil {
		return err
	}
	if err := l.validateModules(); err != nil {
		return err
	}
	for i, im := range l.Images {
		if !digestRE.MatchString(im.Digest) || im.Name == "" || im.Ref != im.Name+"@"+im.Digest {
			return fmt.Errorf("images[%d]: %q is not name@sha256:<64 hex>", i, im.Ref)
		}
		if i > 0 && l.Images[i-1].Ref >= im.Ref {
			return fmt.Errorf("images[%d]: not sorted or duplicate", i)
		}
	}
	for i, c := range l.Allowed {
		if !allowable[c] {
			return fmt.Errorf("allowed[%d]: %q cannot be waived", i, c)
		}
	}
	want, err := l.ComputeDigest()
	if err != nil {
		return err
	}
	if l.Digest != want {
		return fmt.Errorf("digest: %q does not match the content (%s)", l.Digest, want)
	}
	return nil
}

func (l *Lock) validateModules() error {
	for i, m := range l.Modules {
		local := m.Replace != nil && m.Replace.Local
		switch {
		case m.Path == "":
			return fmt.Errorf("modules[%d].path: empty", i)
		case m.Version == "" && !local:
			return fmt.Errorf("modules[%d].version: empty for %s", i, m.Path)
		case !h1RE.MatchString(m.Sum):
			return fmt.Errorf("modules[%d].sum: %q is not an h1: hash (%s)", i, m.Sum, m.Path)
		case m.GoModSum != "" && !h1RE.MatchString(m.GoModSum):
			return fmt.Errorf("modules[%d].goModSum: %q is not an h1: hash (%s)", i, m.GoModSum, m.Path)
		case i > 0 && moduleKey(l.Modules[i-1]) >= moduleKey(m):
			return fmt.Errorf("modules[%d]: not sorted or duplicate (%s)", i, moduleKey(m))
		}
	}
	return nil
}

// Marshal returns the lock as indented JSON with a trailing newline: the bytes written.
func (l *Lock) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("freeze: lock: %w", err)
	}
	return b.Bytes(), nil
}

// WriteFile validates the lock and writes it atomically to name.
func (l *Lock) WriteFile(name string) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("freeze: %s: %w", name, err)
	}
	data, err := l.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(name, data, 0o644)
}

// ParseLock parses and validates deps.lock.json content; name is used in errors.
func ParseLock(name string, data []byte) (*Lock, error) {
	l := &Lock{}
	if err := strictjson.Decode(data, MaxLockSize, l); err != nil {
		return nil, fmt.Errorf("freeze: %s: %w", name, err)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("freeze: %s: %w", name, err)
	}
	return l, nil
}

// ReadLock reads and validates a deps.lock.json file.
func ReadLock(name string) (*Lock, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxLockSize+1))
	if err != nil {
		return nil, fmt.Errorf("freeze: %s: %w", name, err)
	}
	return ParseLock(name, data)
}

// fileDigest returns "sha256:<hex>" of data.
func fileDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
