// Package docs selects a project's documentation files and writes the docs bundle: a
// deterministic tar.gz of README*, CHANGELOG*, LICENSE* and docs/ (or the patterns the
// config names), with entries named by their path in the source tree.
//
// Contract: patterns select regular files inside the source tree only. A pattern without
// "/" matches files at the root, case-insensitively ("readme*" finds README.md); a pattern
// with "/" is a glob relative to the root; a pattern ending in "/" takes a directory whole.
// A pattern that matches nothing is not an error (a project may have no CHANGELOG). A
// symlink or special file among the matches is an error, never silently followed: what is
// archived is what the source tree holds. The archive's bytes depend only on the selected
// files' paths, contents, execute bits and the given time (see pipeline/archive).
package docs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/config"
)

// Select returns archive entries for the files the patterns name under root, each named by
// its slash path relative to root. Overlapping patterns select a file once.
func Select(root string, patterns []string) ([]archive.Entry, error) {
	byName := map[string]archive.Entry{}
	for _, p := range patterns {
		if err := config.CheckPattern(p); err != nil {
			return nil, fmt.Errorf("docs: pattern: %w", err)
		}
		es, err := selectOne(root, p)
		if err != nil {
			return nil, fmt.Errorf("docs: pattern %q: %w", p, err)
		}
		for _, e := range es {
			if prev, ok := byName[e.Name]; !ok || !prev.IsDir() {
				byName[e.Name] = e
			}
		}
	}
	out := make([]archive.Entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func selectOne(root, p string) ([]archive.Entry, error) {
	switch {
	case strings.HasSuffix(p, "/"):
		dir := strings.TrimSuffix(p, "/")
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(dir)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		return archive.DirEntries(dir, filepath.Join(root, filepath.FromSlash(dir)))
	case strings.Contains(p, "/"):
		matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		return fileEntries(root, matches)
	}
	return rootFiles(root, p)
}

// rootFiles matches p against the names of the files at the root, ignoring case.
func rootFiles(root, p string) ([]archive.Entry, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var matches []string
	for _, de := range des {
		ok, err := path.Match(strings.ToLower(p), strings.ToLower(de.Name()))
		if err != nil {
			return nil, err
		}
		if ok && !de.IsDir() {
			matches = append(matches, filepath.Join(root, de.Name()))
		}
	}
	return fileEntries(root, matches)
}

func fileEntries(root string, paths []string) ([]archive.Entry, error) {
	var out []archive.Entry
	for _, m := range paths {
		fi, err := os.Lstat(m)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			continue // a glob matched a directory: only "dir/" takes directories
		}
		rel, err := filepath.Rel(root, m)
		if err != nil {
			return nil, err
		}
		e, err := archive.FileEntry(filepath.ToSlash(rel), m)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Input is what Write needs.
type Input struct {
	Source   string    // the source tree
	Patterns []string  // what to include; nil means config.DefaultDocsFiles
	Out      string    // the .tar.gz file to write
	Time     time.Time // every entry's modification time (the commit time)
}

// Write writes the docs bundle and returns the number of files in it. When the patterns
// select nothing it writes nothing and returns 0: the caller records the skip.
func Write(in Input) (int, error) {
	pats := in.Patterns
	if pats == nil {
		pats = config.DefaultDocsFiles
	}
	entries, err := Select(in.Source, pats)
	if err != nil {
		return 0, err
	}
	files := 0
	for _, e := range entries {
		if !e.IsDir() {
			files++
		}
	}
	if files == 0 {
		return 0, nil
	}
	err = atomicfile.Write(in.Out, 0o644, func(w io.Writer) error {
		return archive.WriteTarGz(w, entries, in.Time)
	})
	if err != nil {
		return 0, fmt.Errorf("docs: %w", err)
	}
	return files, nil
}
