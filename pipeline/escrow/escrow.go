// Package escrow snapshots a release's records for long-term escrow: one deterministic
// escrow.tar.gz holding the manifest, SHA256SUMS, the manifest signature, the provenance
// bundles, the release notes, the changelog and the audit summary, signed into
// escrow.tar.gz.sigstore.json with the release key.
//
// Contract:
//   - Write archives the records present in the bundle (manifest.json, SHA256SUMS and its
//     signature are required), sorted, with the release time on every entry and a fixed
//     gzip header (pipeline/archive), so the same records give the same bytes; then it
//     signs the archive's sha256 (pipeline/sign) and writes both files atomically.
//   - Read parses an untrusted escrow archive: bounded in compressed and uncompressed size
//     and in member count, regular files only, each named by one of the fixed record names
//     (so no path can climb out, be absolute or hide in a directory), no name twice.
//   - Check compares the members with the loose files of the bundle: the escrow must hold
//     manifest.json, every member must equal its loose file byte for byte (by sha256), and
//     the loose notes, changelog and audit summary, which the manifest cannot cover because
//     they are written after it, must be in the escrow, whose signature then covers them.
//
// Signature checks are the gate's (pipeline/verify): Read and Check trust nothing they read
// until the caller has verified the archive's signature.
package escrow

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/sentientos/reliquary/pipeline/bundle"
)

// Limits on an escrow archive, checked before its content is trusted. The manifest is the
// largest record (bundle.MaxManifestSize); the rest are small.
const (
	MaxArchiveSize = 256 << 20 // compressed bytes of escrow.tar.gz
	MaxMemberSize  = 64 << 20  // one member, uncompressed
	MaxTotalSize   = 512 << 20 // all members, uncompressed
	MaxMembers     = 1 << 12   // 4096: provenance shards for four million artifacts
)

// ErrEscrow is the root of this package's errors.
var ErrEscrow = errors.New("escrow")

// ErrArchive is returned by Read for an archive that is malformed or breaks a limit.
var ErrArchive = fmt.Errorf("%w: unusable archive", ErrEscrow)

// required are the records every escrow holds: what was released and its signature.
var required = []string{bundle.ManifestFile, bundle.ChecksumsFile, bundle.ManifestSigFile}

// fixed are the other records an escrow holds when the bundle has them, in no order.
var fixed = []string{
	bundle.ProvenanceFile, bundle.NotesFile, bundle.ChangelogFile, bundle.AuditSummaryFile,
	bundle.ReproSigFile, bundle.BenchSigFile,
}

// Covered are the bundle files written after the manifest (so not listed in it) that only
// the escrow's signature covers. A bundle holding one of them outside the escrow fails.
var Covered = []string{bundle.NotesFile, bundle.ChangelogFile, bundle.AuditSummaryFile}

// IsMember reports whether name may be a member of an escrow archive: one of the fixed
// record names or a provenance shard, all at the archive's root.
func IsMember(name string) bool {
	if bundle.IsProvenanceShard(name) {
		return true
	}
	for _, n := range append(append([]string(nil), required...), fixed...) {
		if name == n {
			return true
		}
	}
	return false
}

// Member is one record in an escrow archive.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Problem is one disagreement between an escrow archive and its bundle, about one file.
type Problem struct {
	File    string // the bundle path concerned
	Message string
}

func (p Problem) String() string { return p.File + ": " + p.Message }

// Check compares an escrow's members with the bundle's loose files, given as their sha256
// (hex) by bundle path; a path absent from loose is absent from the bundle. It returns every
// problem, nil when they agree.
func Check(members []Member, loose map[string]string) []Problem {
	var out []Problem
	in := map[string]bool{}
	for _, m := range members {
		in[m.Name] = true
		got, ok := loose[m.Name]
		switch {
		case !ok:
			out = append(out, Problem{m.Name, "in the signed escrow but missing from the bundle: restore it from escrow.tar.gz"})
		case got != m.SHA256:
			out = append(out, Problem{m.Name, fmt.Sprintf("differs from its signed copy in escrow.tar.gz (sha256 %s, escrow %s): the file changed after the release", short(got), short(m.SHA256))})
		}
	}
	if !in[bundle.ManifestFile] {
		out = append(out, Problem{bundle.EscrowFile, "holds no manifest.json, so it cannot be tied to this release"})
	}
	for _, name := range Covered {
		if _, ok := loose[name]; ok && !in[name] {
			out = append(out, Problem{name, "is not in the signed escrow, so no signature covers it"})
		}
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// checkName refuses a member name that is not one of the record names.
func checkName(name string) error {
	if strings.ContainsRune(name, '/') || path.Clean(name) != name || !IsMember(name) {
		return fmt.Errorf("%w: member %q is not an escrow record (want one of %s, provenance-N.sigstore.json)", ErrArchive, name, strings.Join(append(append([]string(nil), required...), fixed...), ", "))
	}
	return nil
}
