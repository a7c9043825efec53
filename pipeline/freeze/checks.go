package freeze

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// modFile is what `go mod edit -json` prints about go.mod (the fields freeze reads).
type modFile struct {
	Module    struct{ Path string }
	Go        string
	Toolchain string
	Replace   []struct {
		Old, New struct{ Path, Version string }
	}
}

// tidyDiff is `go mod tidy -diff` output split by file and direction.
type tidyDiff struct {
	modAdd, modDel, sumAdd, sumDel []string
}

// parseTidyDiff reads the unified diff `go mod tidy -diff` prints: one section per file
// ("diff current/go.mod tidy/go.mod"), "+" lines are what tidy would add, "-" lines what it
// would remove.
func parseTidyDiff(out []byte) (tidyDiff, error) {
	var d tidyDiff
	file := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "diff "):
			f := strings.Fields(line)
			file = path.Base(f[len(f)-1])
			continue
		case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "@@"):
			continue
		case line == "" || line[0] == ' ':
			continue
		}
		body := strings.TrimSpace(line[1:])
		if body == "" {
			continue
		}
		var add, del *[]string
		switch {
		case strings.HasSuffix(file, ".sum"):
			add, del = &d.sumAdd, &d.sumDel
		case strings.HasSuffix(file, ".mod"):
			add, del = &d.modAdd, &d.modDel
		default:
			return tidyDiff{}, fmt.Errorf("line %q outside a go.mod or go.sum section", line)
		}
		switch line[0] {
		case '+':
			*add = append(*add, body)
		case '-':
			*del = append(*del, body)
		default:
			return tidyDiff{}, fmt.Errorf("unexpected diff line %q", line)
		}
	}
	return d, sc.Err()
}

// problems turns the diff into one problem per line, naming the module and hash.
func (d tidyDiff) problems() []Problem {
	var ps []Problem
	for _, l := range d.sumAdd {
		ps = append(ps, Problem{CheckSumMissing, sumSubject(l), "go.sum lacks " + l + " (run go mod tidy and commit go.sum)"})
	}
	for _, l := range d.sumDel {
		ps = append(ps, Problem{CheckSumExtra, sumSubject(l), "go.sum has an unneeded line " + l + " (run go mod tidy)"})
	}
	for _, l := range d.modAdd {
		ps = append(ps, Problem{CheckTidy, "go.mod", "go mod tidy would add: " + l})
	}
	for _, l := range d.modDel {
		ps = append(ps, Problem{CheckTidy, "go.mod", "go mod tidy would remove: " + l})
	}
	return ps
}

// sumSubject is "module version" of a go.sum line.
func sumSubject(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return line
}

// goVersionRE parses a Go version: 1.26, 1.26.1, 1.27rc1.
var goVersionRE = regexp.MustCompile(`^([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(?:(rc|beta)([0-9]+))?$`)

// goVersionKey orders Go versions as the go command does: 1.26 < 1.26rc1 < 1.26.0 < 1.26.1.
func goVersionKey(v string) ([5]int, bool) {
	m := goVersionRE.FindStringSubmatch(strings.TrimPrefix(v, "go"))
	if m == nil {
		return [5]int{}, false
	}
	n := func(s string) int { i, _ := strconv.Atoi(s); return i }
	k := [5]int{n(m[1]), n(m[2]), 0, 0, 0}
	switch {
	case m[3] != "":
		k[2], k[3] = 3, n(m[3])
	case m[4] == "rc":
		k[2], k[4] = 2, n(m[5])
	case m[4] == "beta":
		k[2], k[4] = 1, n(m[5])
	}
	return k, true
}

func goVersionLess(a, b [5]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// localReplace is a replace directive pointing at a directory.
type localReplace struct {
	Old, Version string // the replaced module
	Path         string // as written in go.mod
	Abs          string // resolved, symlinks evaluated
	Outside      bool
}

// localReplaces resolves replace directives that point at directories and reports those
// outside the source tree (and those that do not exist).
func localReplaces(mf modFile, root string) ([]localReplace, []Problem) {
	var out []localReplace
	var ps []Problem
	for _, r := range mf.Replace {
		if r.New.Version != "" {
			continue // a module path: pinned by go.sum like any other module
		}
		subject := r.Old.Path + " => " + r.New.Path
		abs := r.New.Path
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root, abs)
		}
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			ps = append(ps, Problem{CheckLocalReplace, subject, fmt.Sprintf("replacement directory: %v", err)})
			continue
		}
		rel, err := filepath.Rel(root, resolved)
		outside := err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
		if outside {
			ps = append(ps, Problem{CheckLocalReplace, subject, "replaced by a directory outside the source tree, which the release cannot pin; remove the replace or allow local-replace"})
		}
		out = append(out, localReplace{Old: r.Old.Path, Version: r.Old.Version, Path: r.New.Path, Abs: resolved, Outside: outside})
	}
	return out, ps
}

// maxDirFiles bounds the files hashed in one local replacement.
const maxDirFiles = 100_000

// dirSum is Go's "h1:" directory hash (golang.org/x/mod/sumdb/dirhash Hash1) of the regular
// files under dir, named prefix/relative-path, skipping .git directories. It pins what a
// local replacement contained when the lock was made.
func dirSum(dir, prefix string) (string, error) {
	return hashDir(dir, prefix, func(string) (bool, error) { return false, nil })
}

// hashDir is dirSum leaving out the files skip names (and .git directories).
func hashDir(dir, prefix string, skip func(path string) (bool, error)) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(files) >= maxDirFiles {
			return fmt.Errorf("more than %d files", maxDirFiles)
		}
		if skipped, err := skip(p); skipped || err != nil {
			return err
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	return hash1(dir, prefix, files)
}

// hash1 is dirhash Hash1 over files (paths under dir), each named prefix/relative-path.
func hash1(dir, prefix string, files []string) (string, error) {
	type entry struct{ name, sum string }
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", dir, err)
		}
		rel, _ := filepath.Rel(dir, f)
		name := prefix + "/" + filepath.ToSlash(rel)
		if strings.Contains(name, "\n") {
			return "", fmt.Errorf("hash %s: file name with a newline: %q", dir, name)
		}
		entries = append(entries, entry{name, fmt.Sprintf("%x", sha256.Sum256(data))})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s  %s\n", e.sum, e.name)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// checkImages parses each reference and requires a digest.
func checkImages(refs []string) ([]Image, []Problem) {
	var out []Image
	var ps []Problem
	for _, ref := range refs {
		d, err := name.NewDigest(ref)
		if err != nil {
			ps = append(ps, Problem{CheckImage, ref, "not pinned by digest: use name@sha256:<digest> (" + err.Error() + ")"})
			continue
		}
		if !digestRE.MatchString(d.DigestStr()) {
			ps = append(ps, Problem{CheckImage, ref, "digest is not sha256"})
			continue
		}
		repo := d.Context().Name()
		out = append(out, Image{Ref: repo + "@" + d.DigestStr(), Name: repo, Digest: d.DigestStr()})
	}
	return out, ps
}
