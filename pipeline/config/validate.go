package config

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"text/template"

	"github.com/sentientos/reliquary/internal/safepath"
)

var (
	// nameRE is a file-name-safe name: binaries, projects, entrypoints.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)
	// platformRE is os/arch with an optional variant (linux/arm/v7).
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+(/v[0-9][0-9.]*)?$`)
	// symbolRE is a package-qualified Go variable for -X: no spaces, quotes or '=', so a
	// symbol can never smuggle another linker flag into -ldflags.
	symbolRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./~-]*\.[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the whole config and reports the first field at fault, by field path.
func (c *Config) Validate() error {
	checks := []func() error{c.checkTop, c.checkPlatforms, c.checkBuilds, c.checkStamp,
		c.checkArchives, c.checkImage, c.checkDocs}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

func (c *Config) checkTop() error {
	if c.Version != 0 && c.Version != SchemaVersion {
		return fmt.Errorf("version: %d is not supported (want %d)", c.Version, SchemaVersion)
	}
	if c.Project != "" && !nameRE.MatchString(c.Project) {
		return fmt.Errorf("project: %q is not a valid name (letters, digits, . _ + -)", c.Project)
	}
	if c.Repository != "" {
		u, err := url.Parse(c.Repository)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			strings.ContainsAny(c.Repository, " \t\r\n") || len(c.Repository) > 512 {
			return fmt.Errorf("repository: %q is not an http(s) URL", c.Repository)
		}
	}
	return nil
}

func (c *Config) checkPlatforms() error {
	seen := map[string]bool{}
	for i, p := range c.Platforms {
		if err := CheckPlatform(p); err != nil {
			return fmt.Errorf("platforms[%d]: %w", i, err)
		}
		if seen[p] {
			return fmt.Errorf("platforms[%d]: %q listed twice", i, p)
		}
		seen[p] = true
	}
	return nil
}

// CheckPlatform checks the form of an "os/arch[/variant]" platform. Whether the Go toolchain
// supports it is for the build to check.
func CheckPlatform(p string) error {
	if !platformRE.MatchString(p) {
		return fmt.Errorf("%q is not os/arch (for example linux/amd64)", p)
	}
	return nil
}

func (c *Config) checkBuilds() error {
	mains, bins := map[string]bool{}, map[string]bool{}
	for i := range c.Builds {
		b := &c.Builds[i]
		if b.Main == "" {
			return fmt.Errorf("builds[%d].main: empty", i)
		}
		m, err := CleanMain(b.Main)
		if err != nil {
			return fmt.Errorf("builds[%d].main: %w", i, err)
		}
		b.Main = m
		if mains[m] {
			return fmt.Errorf("builds[%d].main: %q listed twice", i, m)
		}
		mains[m] = true
		if b.Binary != "" {
			if !nameRE.MatchString(b.Binary) {
				return fmt.Errorf("builds[%d].binary: %q is not a valid file name", i, b.Binary)
			}
			if bins[b.Binary] {
				return fmt.Errorf("builds[%d].binary: %q used twice", i, b.Binary)
			}
			bins[b.Binary] = true
		}
	}
	return nil
}

// CleanMain turns a package directory into the "./dir" form `go build` needs, refusing
// anything that is not a clean path inside the source tree.
func CleanMain(m string) (string, error) {
	rel := strings.TrimPrefix(m, "./")
	if rel == "." || rel == "" {
		return ".", nil
	}
	if err := safepath.Check(rel); err != nil {
		return "", err
	}
	if strings.HasPrefix(rel, "-") {
		return "", fmt.Errorf("%q starts with '-'", m)
	}
	return "./" + rel, nil
}

func (c *Config) checkStamp() error {
	if c.Stamp == nil {
		return nil
	}
	for _, f := range [][2]string{{"version", c.Stamp.Version}, {"commit", c.Stamp.Commit}, {"date", c.Stamp.Date}} {
		if f[1] != "" && !symbolRE.MatchString(f[1]) {
			return fmt.Errorf("stamp.%s: %q is not a package-qualified variable (like main.version)", f[0], f[1])
		}
	}
	return nil
}

func (c *Config) checkArchives() error {
	if c.Archives.Name != "" {
		sample := NameData{Project: "p", Version: "v1.0.0", OS: "linux", Arch: "amd64"}
		if _, err := c.ArchiveName(sample); err != nil {
			return fmt.Errorf("archives.name: %w", err)
		}
	}
	return checkPatterns("archives.files", c.Archives.Files)
}

func (c *Config) checkImage() error {
	for i, b := range c.Image.Binaries {
		if !nameRE.MatchString(b) {
			return fmt.Errorf("image.binaries[%d]: %q is not a valid binary name", i, b)
		}
	}
	if e := c.Image.Entrypoint; e != "" && !nameRE.MatchString(e) {
		return fmt.Errorf("image.entrypoint: %q is not a valid binary name", e)
	}
	if c.Image.Base != "" {
		if err := safepath.Check(c.Image.Base); err != nil {
			return fmt.Errorf("image.base: %w", err)
		}
	}
	return nil
}

func (c *Config) checkDocs() error { return checkPatterns("docs.files", c.Docs.Files) }

func checkPatterns(field string, pats []string) error {
	for i, p := range pats {
		if err := CheckPattern(p); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
	}
	return nil
}

// CheckPattern checks one file pattern of archives.files or docs.files.
func CheckPattern(p string) error {
	trimmed := strings.TrimSuffix(p, "/")
	if err := safepath.Check(trimmed); err != nil {
		return err
	}
	if _, err := path.Match(trimmed, ""); err != nil {
		return fmt.Errorf("%q: %w", p, err)
	}
	return nil
}

// NameData is what an archive name template may use.
type NameData struct {
	Project, Version, OS, Arch string
}

// ArchiveName renders the archive name template (without extension) and checks that the
// result is a valid file name.
func (c *Config) ArchiveName(d NameData) (string, error) {
	src := c.Archives.Name
	if src == "" {
		src = DefaultArchiveName
	}
	tmpl, err := template.New("archives.name").Option("missingkey=error").Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		return "", err
	}
	if !nameRE.MatchString(b.String()) {
		return "", fmt.Errorf("template gives %q, not a valid file name", b.String())
	}
	return b.String(), nil
}

// PlatformList is the configured platforms, or DefaultPlatforms.
func (c *Config) PlatformList() []string {
	if len(c.Platforms) == 0 {
		return append([]string(nil), DefaultPlatforms...)
	}
	return append([]string(nil), c.Platforms...)
}

// StampVars is the configured stamp, or DefaultStamp.
func (c *Config) StampVars() Stamp {
	if c.Stamp == nil {
		return DefaultStamp
	}
	return *c.Stamp
}

// ArchiveFiles is the configured archive file patterns, or DefaultArchiveFiles.
func (c *Config) ArchiveFiles() []string {
	if c.Archives.Files == nil {
		return append([]string(nil), DefaultArchiveFiles...)
	}
	return c.Archives.Files
}

// DocsFiles is the configured docs patterns, or DefaultDocsFiles.
func (c *Config) DocsFiles() []string {
	if c.Docs.Files == nil {
		return append([]string(nil), DefaultDocsFiles...)
	}
	return c.Docs.Files
}

// ValidName reports whether s is usable as a project, binary or version in a file name.
func ValidName(s string) bool { return nameRE.MatchString(s) }
