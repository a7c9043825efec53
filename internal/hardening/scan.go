package hardening

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/internal/inflate"
)

// Limits that keep a scan bounded whatever it is given (a zip bomb stays a small read).
const (
	maxDepth       = 8       // archives in archives, base64 in JSON in archives
	maxMemberSize  = 1 << 30 // one archive member or decoded string
	maxScanTotal   = 4 << 30 // everything decoded during one Bytes call
	minNeedleBytes = 12      // shorter encodings would match by chance
	minBase64Chars = 16      // shorter JSON strings are not worth decoding
	maxFileSize    = 2 << 30 // files larger than this are an error, not a silent skip
	minSecretBytes = 8       // a secret this short cannot be searched for reliably
	tarMagicOffset = 257     // "ustar" in a tar header
)

// Secret is one value a leak scan looks for, under a name that says what it is.
type Secret struct {
	Name    string
	Value   []byte
	Literal bool // only the bytes themselves; otherwise also hex and base64 forms
}

// Encoded is a secret searched for as raw bytes, lower and upper hex, and standard and
// URL-safe base64 at every alignment (so it is found inside a longer encoded blob too).
func Encoded(name string, value []byte) Secret { return Secret{Name: name, Value: value} }

// Literal is a secret searched for exactly as given (a line of PEM text, say).
func Literal(name, value string) Secret {
	return Secret{Name: name, Value: []byte(value), Literal: true}
}

// Leak is one place a secret was found.
type Leak struct {
	Where    string // file or stream, then !member for archives and #base64 for decoded strings
	Secret   string
	Encoding string
}

func (l Leak) String() string { return fmt.Sprintf("%s: %s (%s)", l.Where, l.Secret, l.Encoding) }

type needle struct {
	secret, encoding string
	b                []byte
}

// Scanner looks for a fixed set of secrets. It is safe for concurrent use.
type Scanner struct{ needles []needle }

// NewScanner returns a scanner for secrets. It refuses secrets too short to search for
// without false alarms.
func NewScanner(secrets ...Secret) (*Scanner, error) {
	s := &Scanner{}
	for _, sec := range secrets {
		if len(sec.Value) < minSecretBytes {
			return nil, fmt.Errorf("hardening: secret %q: %d bytes is too short to search for", sec.Name, len(sec.Value))
		}
		s.add(sec.Name, "raw", sec.Value)
		if sec.Literal {
			continue
		}
		s.add(sec.Name, "hex", []byte(hex.EncodeToString(sec.Value)))
		s.add(sec.Name, "HEX", []byte(strings.ToUpper(hex.EncodeToString(sec.Value))))
		for shift := range 3 {
			v := sec.Value[shift:]
			v = v[:len(v)/3*3] // whole groups: the same characters wherever the value sits
			s.add(sec.Name, fmt.Sprintf("base64 std, offset %d", shift), []byte(base64.StdEncoding.EncodeToString(v)))
			s.add(sec.Name, fmt.Sprintf("base64 url, offset %d", shift), []byte(base64.URLEncoding.EncodeToString(v)))
		}
	}
	return s, nil
}

func (s *Scanner) add(secret, encoding string, b []byte) {
	if len(b) >= minNeedleBytes {
		s.needles = append(s.needles, needle{secret, encoding, b})
	}
}

// Bytes scans data, named where in the result, and whatever it contains: gzip streams, tar
// and zip members, and base64 strings in JSON documents and JSON log lines.
func (s *Scanner) Bytes(where string, data []byte) []Leak {
	w := &walk{s: s, seen: map[Leak]bool{}}
	w.scan(where, data, 0)
	sort.Slice(w.leaks, func(i, j int) bool { return w.leaks[i].String() < w.leaks[j].String() })
	return w.leaks
}

// Dir scans every regular file under dir, naming each by its path relative to dir. A
// symlink or special file is reported as an error: release outputs hold regular files only.
func (s *Scanner) Dir(dir string) ([]Leak, error) {
	var leaks []Leak
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.Type().IsRegular() {
			return fmt.Errorf("hardening: %s is a %s, not a regular file", rel, d.Type())
		}
		data, err := readBounded(p)
		if err != nil {
			return err
		}
		leaks = append(leaks, s.Bytes(filepath.ToSlash(rel), data)...)
		return nil
	})
	return leaks, err
}

func readBounded(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("hardening: %s: %d bytes is too large to scan", p, fi.Size())
	}
	return os.ReadFile(p)
}

// walk is one recursive scan; budget bounds the bytes it may decode.
type walk struct {
	s      *Scanner
	seen   map[Leak]bool
	leaks  []Leak
	budget int64
}

func (w *walk) scan(where string, data []byte, depth int) {
	for _, n := range w.s.needles {
		if bytes.Contains(data, n.b) {
			l := Leak{Where: where, Secret: n.secret, Encoding: n.encoding}
			if !w.seen[l] {
				w.seen[l] = true
				w.leaks = append(w.leaks, l)
			}
		}
	}
	if depth >= maxDepth {
		return
	}
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		if zr, err := inflate.Gzip(bytes.NewReader(data)); err == nil {
			if inner, ok := w.read(zr); ok {
				w.scan(where+"!gunzip", inner, depth+1)
			}
		}
	case len(data) > tarMagicOffset+5 && string(data[tarMagicOffset:tarMagicOffset+5]) == "ustar":
		w.tar(where, data, depth)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		w.zip(where, data, depth)
	default:
		w.json(where, data, depth)
	}
}

// read takes at most one member's worth from r, within the walk's budget.
func (w *walk) read(r io.Reader) ([]byte, bool) {
	limit := min(int64(maxMemberSize), maxScanTotal-w.budget)
	if limit <= 0 {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r, limit))
	w.budget += int64(len(data))
	return data, err == nil
}

func (w *walk) tar(where string, data []byte, depth int) {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			return
		}
		w.scan(where+"!"+h.Name+" (name)", []byte(h.Name+"\x00"+h.Linkname), maxDepth)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if inner, ok := w.read(tr); ok {
			w.scan(where+"!"+h.Name, inner, depth+1)
		}
	}
}

func (w *walk) zip(where string, data []byte, depth int) {
	zr, err := inflate.Zip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			continue
		}
		inner, ok := w.read(rc)
		rc.Close()
		if ok {
			w.scan(where+"!"+f.Name, inner, depth+1)
		}
	}
}

// json decodes base64 strings of a JSON document, or of each line of JSON log output.
func (w *walk) json(where string, data []byte, depth int) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return
	}
	if json.Valid(trimmed) {
		w.jsonDoc(where, trimmed, depth)
		return
	}
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		if json.Valid(line) {
			w.jsonDoc(fmt.Sprintf("%s:%d", where, i+1), line, depth)
		}
	}
}

func (w *walk) jsonDoc(where string, doc []byte, depth int) {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return
	}
	forEachString(v, func(s string) {
		if len(s) < minBase64Chars {
			return
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if dec, err := enc.DecodeString(s); err == nil && w.budget+int64(len(dec)) <= maxScanTotal {
				w.budget += int64(len(dec))
				w.scan(where+"#base64", dec, depth+1)
				return
			}
		}
	})
}

func forEachString(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			forEachString(e, fn)
		}
	case map[string]any:
		for k, e := range x {
			fn(k)
			forEachString(e, fn)
		}
	}
}
