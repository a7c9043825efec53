package audit

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentientos/reliquary/internal/inflate"

	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/archive"
)

func isArchive(p string) bool {
	p = strings.ToLower(p)
	for _, s := range []string{".tar.gz", ".tgz", ".tar", ".zip"} {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

func joinPath(dir, p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }

// auditArchive checks every entry of an archive artifact: its name, its mode, and its
// content for private key material.
func auditArchive(r *Report, path, name string) {
	members, err := archive.List(path)
	if err != nil {
		r.add(Finding{Severity: Medium, Check: "archive", Subject: name, Message: "not checked: " + err.Error()})
		return
	}
	before := len(r.Findings)
	for _, m := range members {
		where := name + ": " + m.Name
		if err := safepath.Check(strings.TrimSuffix(strings.TrimPrefix(m.Name, "./"), "/")); err != nil {
			r.add(Finding{Severity: High, Check: "archive", Subject: where, Message: fmt.Sprintf("unsafe entry name, which extraction could write outside its directory: %v", err)})
		}
		if m.Mode&fs.ModeSymlink != 0 {
			r.add(Finding{Severity: Medium, Check: "archive", Subject: where, Message: "is a symlink, which may point outside the directory it is extracted to"})
			continue
		}
		r.add(entryFindings("archive", where, m.Mode)...)
	}
	if err := scanArchive(r, path, name); err != nil {
		r.add(Finding{Severity: Medium, Check: "secrets", Subject: name, Message: "content not scanned for private keys: " + err.Error()})
	}
	if len(r.Findings) == before {
		r.ok("archive %s: %d entries with safe names and modes, no setuid, setgid or world-writable entry, no private key", name, len(members))
	}
}

// entryFindings judges one file's mode: setuid and setgid bits, world-writable files (a
// sticky world-writable directory such as /tmp is fine), devices and other special files.
func entryFindings(check, where string, mode fs.FileMode) []Finding {
	var out []Finding
	add := func(s Severity, msg string) {
		out = append(out, Finding{Severity: s, Check: check, Subject: where, Message: msg})
	}
	if mode&fs.ModeSetuid != 0 {
		add(High, fmt.Sprintf("has the setuid bit (%v): it runs with its owner's privileges", mode))
	}
	if mode&fs.ModeSetgid != 0 && !mode.IsDir() {
		add(High, fmt.Sprintf("has the setgid bit (%v): it runs with its group's privileges", mode))
	}
	if mode.Perm()&0o002 != 0 && !(mode.IsDir() && mode&fs.ModeSticky != 0) {
		add(High, fmt.Sprintf("is world-writable (%v): any user could change it", mode))
	}
	switch {
	case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		add(High, fmt.Sprintf("is a device file (%v)", mode))
	case mode&(fs.ModeNamedPipe|fs.ModeSocket) != 0:
		add(Medium, fmt.Sprintf("is a special file (%v)", mode))
	}
	return out
}

// scanArchive reads every regular entry of a tar, tar.gz or zip archive and reports those
// holding private key material, within the archive package's limits.
func scanArchive(r *Report, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b := &budget{bytes: archive.MaxTotalSize, entries: archive.MaxMembers}
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		return scanZip(r, f, fi.Size(), name, b)
	case strings.HasSuffix(lower, ".tar"):
		return scanTar(r, f, name, b)
	}
	zr, err := inflate.Gzip(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	return scanTar(r, zr, name, b)
}

func scanTar(r *Report, rd io.Reader, name string, b *budget) error {
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.take(h.Size); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if found, err := ContainsPrivateKey(tr); err != nil {
			return err
		} else if found {
			r.add(keyFinding("secrets", name+": "+h.Name))
		}
	}
}

func scanZip(r *Report, ra io.ReaderAt, size int64, name string, b *budget) error {
	zr, err := inflate.Zip(ra, size)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if err := b.take(int64(f.UncompressedSize64)); err != nil {
			return err
		}
		if !f.Mode().IsRegular() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		found, err := ContainsPrivateKey(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if found {
			r.add(keyFinding("secrets", name+": "+f.Name))
		}
	}
	return nil
}
