package bundle

import (
	"path"
	"strings"
)

// reservedFiles are the bundle's own records. They are never artifacts: each is either
// covered by a signature of its own or is an output of the gate.
var reservedFiles = map[string]bool{
	ManifestFile: true, ChecksumsFile: true, ManifestSigFile: true, ProvenanceFile: true,
	BenchSigFile: true, ReproSigFile: true, NotesFile: true, ChangelogFile: true,
	AuditSummaryFile: true, EscrowFile: true, EscrowSigFile: true, VerificationFile: true,
	VSAFile: true,
}

// IsReserved reports whether p (a clean, slash-separated bundle path) is one of the bundle's
// own records rather than something the project ships: the fixed files above, provenance
// shards, SBOM attestations (sboms/*.cdx.json.sigstore.json), and everything under links/
// and keys/.
func IsReserved(p string) bool {
	if reservedFiles[p] || IsSBOMAttestation(p) {
		return true
	}
	if strings.HasPrefix(p, LinksDir+"/") || strings.HasPrefix(p, KeysDir+"/") {
		return true
	}
	return IsProvenanceShard(p)
}

// IsProvenanceShard reports whether p names a provenance shard (provenance-N.sigstore.json, N >= 2).
func IsProvenanceShard(p string) bool {
	if path.Dir(p) != "." || !strings.HasPrefix(p, "provenance-") || !strings.HasSuffix(p, ".sigstore.json") {
		return false
	}
	n := strings.TrimSuffix(strings.TrimPrefix(p, "provenance-"), ".sigstore.json")
	if n == "" || n[0] == '0' {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsSBOMAttestation reports whether p names an SBOM's signed statement, which the attest
// stage writes after the manifest (so it cannot be listed in it; its signature binds it).
func IsSBOMAttestation(p string) bool {
	return path.Dir(p) == SBOMDir && strings.HasSuffix(p, ".cdx.json.sigstore.json")
}
