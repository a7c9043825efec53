package hardening_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// kind says what a bundle file is, from its place in the manifest and its content (not
// from a fixed list of names, so that files other stages add are attacked too).
type kind string

const (
	kindArtifact  kind = "artifact"  // listed in the manifest
	kindManifest  kind = "manifest"  // manifest.json
	kindChecksums kind = "checksums" // SHA256SUMS
	kindMessage   kind = "message"   // Sigstore bundle with a message signature
	kindDSSE      kind = "dsse"      // Sigstore bundle with a DSSE envelope
	kindMetablock kind = "metablock" // in-toto link or layout
	kindOther     kind = "other"     // anything else (public keys, reports, notes)
)

// bundleFile is one file of the release under attack.
type bundleFile struct {
	path   string
	data   []byte
	kind   kind
	isJSON bool
}

func (f *bundleFile) signed() bool {
	return f.kind == kindMessage || f.kind == kindDSSE || f.kind == kindMetablock
}

// model is a release bundle read into memory: its files and directories.
type model struct {
	dir   string
	files []*bundleFile
	dirs  []string // "." and every directory holding files
	byPth map[string]*bundleFile
}

func loadModel(dir string) (*model, error) {
	m := &model{dir: dir, byPth: map[string]*bundleFile{}}
	listed := map[string]bool{}
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	man, err := b.Manifest()
	if err != nil {
		return nil, err
	}
	for _, a := range man.Artifacts {
		listed[a.Path] = true
	}
	dirs := map[string]bool{".": true}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := &bundleFile{path: rel, data: data, kind: classify(rel, data, listed), isJSON: json.Valid(data)}
		m.files = append(m.files, f)
		m.byPth[rel] = f
		dirs[path.Dir(rel)] = true
		return nil
	})
	for d := range dirs {
		m.dirs = append(m.dirs, d)
	}
	sort.Strings(m.dirs)
	sort.Slice(m.files, func(i, j int) bool { return m.files[i].path < m.files[j].path })
	return m, err
}

func classify(p string, data []byte, listed map[string]bool) kind {
	switch {
	case listed[p]:
		return kindArtifact
	case p == bundle.ManifestFile:
		return kindManifest
	case p == bundle.ChecksumsFile:
		return kindChecksums
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return kindOther
	}
	switch {
	case doc["messageSignature"] != nil:
		return kindMessage
	case doc["dsseEnvelope"] != nil:
		return kindDSSE
	case doc["signed"] != nil && doc["signatures"] != nil:
		return kindMetablock
	}
	return kindOther
}

// counterpart maps a path of the current release to the same file of a release of another
// version (artifact names carry the version).
func counterpart(p, from, to string) string { return strings.ReplaceAll(p, from, to) }

// linkTree copies the bundle at src to dst as hard links: cheap for hundreds of cases.
// Every attack replaces files (remove, then create) and never writes through a link, and
// the matrix checks afterwards that the original bundle is unchanged.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return os.Link(p, target)
	})
}

// treeDigest fingerprints every file of dir, to prove the original bundle survived the matrix.
func treeDigest(dir string) (string, error) {
	var b bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %x\n", p, sha256.Sum256(data))
		return err
	})
	return b.String(), err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
