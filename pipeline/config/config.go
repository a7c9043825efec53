// Package config reads reliquary.yaml, the small file that says what a project releases:
// which main packages to build and what to call the binaries, which platforms, what the
// linker stamps, and what goes into the archives, the image and the docs bundle.
//
// Contract: the file is optional (Load returns the defaults when it is absent); when present
// it is read with a size limit (MaxSize) before parsing, parsed strictly (unknown fields,
// duplicate keys, several documents and unknown schema versions are refused), and validated
// as a whole, so that a Config returned without error only holds safe relative paths, names
// that are valid file names, and linker symbols that cannot inject flags. Errors name the
// file, and the field where one is at fault.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// FileName is the config file looked up at the root of a source tree.
const FileName = "reliquary.yaml"

// MaxSize bounds the config file; larger files are refused before parsing.
const MaxSize = 64 << 10

// SchemaVersion is the only config schema this package reads.
const SchemaVersion = 1

// ErrInvalid is the root of every error about a config file's content.
var ErrInvalid = errors.New("invalid config")

// Config is a parsed and validated reliquary.yaml. The zero value (plus defaults applied by
// the accessor methods) is the config of a project without the file.
type Config struct {
	// File is where the config was read from; empty for the defaults.
	File string `yaml:"-"`

	// Version is the schema version; 0 (absent) means 1.
	Version int `yaml:"version"`
	// Project names the archives; default: the last element of the module path.
	Project string `yaml:"project"`
	// Repository is the source URL recorded in the image's org.opencontainers.image.source
	// label; default: https:// plus the module path.
	Repository string `yaml:"repository"`
	// Platforms to build, "os/arch"; default DefaultPlatforms. Command-line flags override.
	Platforms []string `yaml:"platforms"`
	// Builds are the main packages to build; default every main package of the module.
	Builds []Build `yaml:"builds"`
	// Stamp says which variables the linker sets; absent: main.version and main.commit.
	Stamp *Stamp `yaml:"stamp"`
	// Archives shapes the per-platform archives.
	Archives Archives `yaml:"archives"`
	// Image shapes the OCI image.
	Image Image `yaml:"image"`
	// Docs shapes the documentation bundle.
	Docs Docs `yaml:"docs"`
}

// Build is one main package to build.
type Build struct {
	// Main is the package directory relative to the source root: "." or "./cmd/tool".
	Main string `yaml:"main"`
	// Binary is the executable's name (".exe" is added for Windows); default: the last
	// element of the package's import path, as `go build` names it.
	Binary string `yaml:"binary"`
}

// Stamp names the package-qualified string variables (for -ldflags -X) that receive the
// release's version, commit and commit date (RFC 3339, UTC). An empty field stamps nothing.
type Stamp struct {
	Version string `yaml:"version"`
	Commit  string `yaml:"commit"`
	Date    string `yaml:"date"`
}

// Archives shapes the per-platform archives.
type Archives struct {
	// Name is a text/template for the archive's base name (the extension is added) over
	// {{.Project}}, {{.Version}}, {{.OS}}, {{.Arch}}; default DefaultArchiveName.
	Name string `yaml:"name"`
	// Files are patterns of extra files to include next to the binaries (see Docs.Files for
	// the pattern syntax); default DefaultArchiveFiles. An empty list is kept empty only when
	// written as `files: []`.
	Files []string `yaml:"files"`
}

// Image shapes the OCI image built from the linux binaries.
type Image struct {
	// Skip turns the image off.
	Skip bool `yaml:"skip"`
	// Binaries to put in the image (in /usr/local/bin); default all.
	Binaries []string `yaml:"binaries"`
	// Entrypoint is the binary the image runs; default the binary named like the project,
	// else the first binary by name.
	Entrypoint string `yaml:"entrypoint"`
	// Base is an OCI image layout tarball (relative to the source root) to build on;
	// default: no base (scratch), which static binaries need.
	Base string `yaml:"base"`
}

// Docs shapes the documentation bundle.
type Docs struct {
	// Skip turns the docs bundle off.
	Skip bool `yaml:"skip"`
	// Files are patterns: a name pattern without "/" matches regular files at the source
	// root, case-insensitively ("README*"); a pattern with "/" is a glob relative to the root
	// ("docs/*.md"); a pattern ending in "/" names a directory taken whole ("docs/").
	// Default DefaultDocsFiles.
	Files []string `yaml:"files"`
}

// Defaults.
var (
	DefaultPlatforms    = []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"}
	DefaultArchiveName  = "{{.Project}}_{{.Version}}_{{.OS}}_{{.Arch}}"
	DefaultArchiveFiles = []string{"LICENSE*", "README*"}
	DefaultDocsFiles    = []string{"README*", "CHANGELOG*", "LICENSE*", "docs/"}
	DefaultStamp        = Stamp{Version: "main.version", Commit: "main.commit"}
)

// Load reads dir/reliquary.yaml, or returns the defaults (File empty) when there is none.
func Load(dir string) (*Config, error) {
	name := filepath.Join(dir, FileName)
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	return Parse(name, data)
}

// Parse parses and validates a config file's content; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config: %s: %w: larger than %d bytes", name, ErrInvalid, MaxSize)
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err != io.EOF {
		return nil, fmt.Errorf("config: %s: %w: %v", name, ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, fmt.Errorf("config: %s: %w: more than one YAML document", name, ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	c.File = name
	return c, nil
}
