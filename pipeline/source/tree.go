// Package source describes the code a release is built from: a digest over the source tree
// that is the same wherever the tree is (a laptop checkout, a container's copy without .git),
// so that an auditor can check that the source they hold is the source that was attested.
package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/digest"
)

// DefaultExcludes are the top-level names never part of the source tree: version-control
// metadata and the default release output directory. The Dagger module's source argument
// ignores the same names, so both compute the same digest.
var DefaultExcludes = []string{".git", "dist"}

// TreeDigest returns "sha256:HEX" over the tree at dir: for every regular file and symlink,
// sorted by path, a line "SHA256 MODE PATH" where MODE is 755 or 644 for files (only the
// executable bit counts, as git does) and "link" for symlinks, whose target is hashed
// instead of followed. Top-level names in excludes are left out.
func TreeDigest(dir string, excludes []string) (string, error) {
	lines, err := treeLines(dir, excludes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func treeLines(dir string, excludes []string) ([]string, error) {
	skip := map[string]bool{}
	for _, e := range excludes {
		skip[e] = true
	}
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		line, err := treeLine(p, rel, d)
		if err != nil {
			return err
		}
		if line != "" {
			lines = append(lines, line)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", dir, err)
	}
	sort.Strings(lines)
	return lines, nil
}

func treeLine(full, rel string, d fs.DirEntry) (string, error) {
	switch {
	case d.IsDir():
		return "", nil
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s link %s\n", digest.Bytes([]byte(target)), rel), nil
	case !d.Type().IsRegular():
		return "", fmt.Errorf("%s is a %s; a source tree holds only files, directories and symlinks", rel, d.Type())
	}
	f, err := os.Open(full)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	_, d256, err := digest.Reader(f, digest.SHA256Only)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", rel, err)
	}
	mode := "644"
	if fi.Mode()&0o111 != 0 {
		mode = "755"
	}
	return fmt.Sprintf("%s %s %s\n", d256.SHA256, mode, rel), nil
}
