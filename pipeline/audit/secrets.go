package audit

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// keyMarkers are the tails of the armour lines of private keys: PEM ("-----BEGIN EC PRIVATE
// KEY-----", PKCS#8, OpenSSH, cosign's and sigstore's encrypted keys), PGP ("PRIVATE KEY
// BLOCK-----") and PuTTY key files. Matching the tail with its dashes keeps program text
// that merely names a key type ("EC PRIVATE KEY" in a Go binary) from counting.
var keyMarkers = [][]byte{
	[]byte("PRIVATE KEY-----"),
	[]byte("PRIVATE KEY BLOCK-----"),
	[]byte("PuTTY-User-Key-File-"),
}

const scanChunk = 64 << 10

// hasKeyMaterial reads r until it finds a private key marker, even one split across reads,
// or until its end.
func hasKeyMaterial(r io.Reader) (bool, error) {
	overlap := 0
	for _, m := range keyMarkers {
		overlap = max(overlap, len(m)-1)
	}
	buf := make([]byte, overlap+scanChunk)
	kept := 0
	for {
		n, err := io.ReadFull(r, buf[kept:])
		window := buf[:kept+n]
		for _, m := range keyMarkers {
			if bytes.Contains(window, m) {
				return true, nil
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		kept = copy(buf, window[len(window)-overlap:])
	}
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
		found, err := hasKeyMaterial(f)
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
