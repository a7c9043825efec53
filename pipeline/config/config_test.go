package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/config"
)

const full = `version: 1
project: tool
repository: https://example.com/tool
platforms: [linux/amd64, linux/arm/v7]
builds:
  - main: ./cmd/tool
  - main: cmd/helper
    binary: tool-helper
stamp:
  version: example.com/tool/internal/build.Version
  date: main.date
archives:
  name: "{{.Project}}-{{.Version}}-{{.OS}}-{{.Arch}}"
  files: []
image:
  binaries: [tool]
  entrypoint: tool
docs:
  files: ["README*", "docs/"]
`

func TestParseFull(t *testing.T) {
	c, err := config.Parse("reliquary.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.Project != "tool" || len(c.Builds) != 2 || c.Builds[1].Main != "./cmd/helper" || c.Builds[1].Binary != "tool-helper" {
		t.Errorf("parsed %+v", c)
	}
	if got := c.StampVars(); got != (config.Stamp{Version: "example.com/tool/internal/build.Version", Date: "main.date"}) {
		t.Errorf("stamp %+v", got)
	}
	if got := c.ArchiveFiles(); len(got) != 0 {
		t.Errorf("files: [] should stay empty, got %v", got)
	}
	name, err := c.ArchiveName(config.NameData{Project: "tool", Version: "v1.2.3", OS: "linux", Arch: "arm64"})
	if err != nil || name != "tool-v1.2.3-linux-arm64" {
		t.Errorf("archive name %q, %v", name, err)
	}
	if !reflect.DeepEqual(c.PlatformList(), []string{"linux/amd64", "linux/arm/v7"}) {
		t.Errorf("platforms %v", c.PlatformList())
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "" {
		t.Errorf("File %q for a missing config", c.File)
	}
	if !reflect.DeepEqual(c.PlatformList(), config.DefaultPlatforms) ||
		c.StampVars() != config.DefaultStamp ||
		!reflect.DeepEqual(c.ArchiveFiles(), config.DefaultArchiveFiles) ||
		!reflect.DeepEqual(c.DocsFiles(), config.DefaultDocsFiles) {
		t.Errorf("defaults not applied: %+v", c)
	}
	name, err := c.ArchiveName(config.NameData{Project: "p", Version: "v1", OS: "windows", Arch: "amd64"})
	if err != nil || name != "p_v1_windows_amd64" {
		t.Errorf("default archive name %q, %v", name, err)
	}
}

func TestLoadReadsFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte("project: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir)
	if err != nil || c.Project != "x" || c.File != filepath.Join(dir, config.FileName) {
		t.Fatalf("Load: %+v, %v", c, err)
	}
	big := "project: x\n" + strings.Repeat("# padding\n", config.MaxSize/10+1)
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "projekt: x\n", "field projekt not found"},
		{"unknown nested field", "builds:\n  - main: .\n    output: x\n", "field output not found"},
		{"duplicate key", "project: a\nproject: b\n", "already defined"},
		{"two documents", "project: a\n---\nproject: b\n", "more than one YAML document"},
		{"schema version", "version: 2\n", "version: 2 is not supported"},
		{"bad project", "project: ../x\n", "project:"},
		{"bad repository", "repository: ftp://x\n", "repository:"},
		{"bad platform", "platforms: [linux]\n", "platforms[0]"},
		{"platform twice", "platforms: [linux/amd64, linux/amd64]\n", "listed twice"},
		{"main climbs out", "builds:\n  - main: ../other\n", "builds[0].main"},
		{"main absolute", "builds:\n  - main: /usr/src\n", "builds[0].main"},
		{"main empty", "builds:\n  - binary: x\n", "builds[0].main: empty"},
		{"main flag", "builds:\n  - main: -toolexec=x\n", "starts with '-'"},
		{"binary path", "builds:\n  - main: .\n    binary: a/b\n", "builds[0].binary"},
		{"binary twice", "builds:\n  - {main: ./a, binary: x}\n  - {main: ./b, binary: x}\n", "used twice"},
		{"main twice", "builds:\n  - {main: ./a}\n  - {main: a}\n", "listed twice"},
		{"stamp injection", "stamp:\n  version: main.version -X main.evil\n", "stamp.version"},
		{"stamp quote", "stamp:\n  commit: \"main.c'\"\n", "stamp.commit"},
		{"archive template", "archives:\n  name: '{{.Nope}}'\n", "archives.name"},
		{"archive template slash", "archives:\n  name: '{{.OS}}/{{.Arch}}'\n", "not a valid file name"},
		{"archive pattern", "archives:\n  files: ['[']\n", "archives.files[0]"},
		{"docs pattern climbs", "docs:\n  files: ['../secrets/']\n", "docs.files[0]"},
		{"image base absolute", "image:\n  base: /tmp/base.tar\n", "image.base"},
		{"image entrypoint", "image:\n  entrypoint: 'a b'\n", "image.entrypoint"},
		{"wrong type", "platforms: linux/amd64\n", "cannot unmarshal"},
		{"not yaml", "{{{", "did not find"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("dir/reliquary.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), "dir/reliquary.yaml") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the file name and %q", err, tc.want)
			}
		})
	}
}

func TestCheckPlatform(t *testing.T) {
	for p, ok := range map[string]bool{"linux/amd64": true, "linux/arm/v7": true, "windows/arm64": true,
		"linux": false, "Linux/amd64": false, "linux/amd64/": false, "linux/amd64 -x": false, "": false} {
		if err := config.CheckPlatform(p); (err == nil) != ok {
			t.Errorf("CheckPlatform(%q) = %v", p, err)
		}
	}
}
