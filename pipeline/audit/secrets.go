package audit

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// What a private key looks like in a file: a PEM armour line "-----BEGIN <LABEL>PRIVATE
// KEY-----" (PKCS#8, EC, RSA, OpenSSH, cosign's and sigstore's encrypted keys) or "-----BEGIN
// PGP PRIVATE KEY BLOCK-----" standing alone on its line, or a PuTTY key file's first line
// "PuTTY-User-Key-File-N: ". Requiring the whole line keeps program text that names these
// markers (this package, a Go binary that parses keys) from counting as a key.
var (
	armourBegin = []byte("-----BEGIN ")
	armourTails = [][]byte{[]byte("PRIVATE KEY-----"), []byte("PRIVATE KEY BLOCK-----")}
	puttyHead   = []byte("PuTTY-User-Key-File-")
)

const (
	maxArmourLine = 96       // longer than any armour line
	scanChunk     = 64 << 10 // bytes read at a time
)

// ContainsPrivateKey reads r until it finds a private key (a complete armour line or PuTTY
// header, even one split across reads), or until its end.
func ContainsPrivateKey(r io.Reader) (bool, error) {
	buf := make([]byte, maxArmourLine+scanChunk)
	kept, lineStart := 0, true // lineStart: the window starts a line
	for {
		n, err := io.ReadFull(r, buf[kept:])
		window := buf[:kept+n]
		if holdsKey(window, lineStart) {
			return true, nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		cut := len(window) - maxArmourLine
		lineStart = window[cut-1] == '\n'
		kept = copy(buf, window[cut:])
	}
}

// holdsKey looks for a complete armour line or PuTTY header in window.
func holdsKey(window []byte, lineStart bool) bool {
	for i := 0; i < len(window); {
		j := bytes.Index(window[i:], armourBegin)
		if j < 0 {
			break
		}
		at := i + j
		line := window[at:min(len(window), at+maxArmourLine)]
		if k := bytes.IndexByte(line, '\n'); k > 0 {
			l := bytes.TrimSuffix(line[:k], []byte("\r"))
			for _, t := range armourTails {
				if bytes.HasSuffix(l, t) {
					return true
				}
			}
		}
		i = at + 1
	}
	for i := 0; i < len(window); {
		j := bytes.Index(window[i:], puttyHead)
		if j < 0 {
			return false
		}
		at := i + j
		rest := window[at+len(puttyHead):]
		startsLine := at == 0 && lineStart || at > 0 && window[at-1] == '\n'
		if startsLine && len(rest) >= 3 && '0' <= rest[0] && rest[0] <= '9' && rest[1] == ':' && rest[2] == ' ' {
			return true
		}
		i = at + 1
	}
	return false
}

func keyFinding(check, where string) Finding {
	return Finding{Severity: High, Check: check, Subject: where, Message: "holds private key material (a private key block): rotate that key and remove the file from the release"}
}

// scanBundle scans every regular file of the bundle as stored (archives are also scanned
// uncompressed by their own check).
func scanBundle(ctx context.Context, r *Report, dir string) error {
	b, err := bundle.Open(dir)
	if err != nil {
		return err
	}
	defer b.Close()
	entries, err := b.Inventory()
	if err != nil {
		return err
	}
	n, before := 0, len(r.Findings)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Type != bundle.TypeRegular || e.Err != nil {
			continue // the gate reports these; the audit reads only regular files
		}
		f, _, err := b.Open(e.Path)
		if err != nil {
			r.add(Finding{Severity: Medium, Check: "secrets", Subject: e.Path, Message: "not scanned: " + err.Error()})
			continue
		}
		found, err := ContainsPrivateKey(f)
		f.Close()
		switch {
		case err != nil:
			r.add(Finding{Severity: Medium, Check: "secrets", Subject: e.Path, Message: "not scanned: " + err.Error()})
		case found:
			r.add(keyFinding("secrets", e.Path))
		}
		n++
	}
	if len(r.Findings) == before {
		r.ok("secrets: no private key material in the bundle's %d files", n)
	}
	return nil
}
