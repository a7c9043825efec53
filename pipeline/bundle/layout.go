// Package bundle is the release bundle's on-disk format: one directory whose layout is fixed
// here, loaded with strict validation and written atomically. It is the typed handoff between
// stages: each stage reads the bundle the previous stage left and adds its own files.
package bundle

// Paths inside a bundle, relative to its root. Every file a bundle may hold is named here or
// listed in its manifest; the gate reports anything else as unexpected.
const (
	ArtifactsDir     = "artifacts"                   // the shipped files: archives, image, docs
	ManifestFile     = "manifest.json"               // the immutability manifest
	ChecksumsFile    = "SHA256SUMS"                  // sha256sum -c compatible
	ManifestSigFile  = "manifest.json.sigstore.json" // Sigstore bundle over manifest.json
	ProvenanceFile   = "provenance.sigstore.json"    // DSSE bundle: in-toto Statement, SLSA Provenance v1
	ProvenanceShard  = "provenance-%d.sigstore.json" // shards 2..N when subjects exceed 1024
	LinksDir         = "links"                       // one signed in-toto link per stage
	LayoutFile       = "links/root.layout"           // the signed in-toto layout
	KeysDir          = "keys"                        // public keys of this release (not trusted by the gate)
	DepsLockFile     = "deps.lock.json"              // the frozen dependency set
	SBOMDir          = "sboms"                       // one CycloneDX SBOM per binary (NAME_OS_ARCH.cdx.json) and its attestation
	BenchFile        = "bench.json"                  // benchmark samples and comparison
	BenchSigFile     = "bench.sigstore.json"         // DSSE bundle: benchmark statement
	ReproSigFile     = "reproducibility.sigstore.json"
	NotesFile        = "RELEASE_NOTES.md"
	ChangelogFile    = "CHANGELOG.md"
	AuditSummaryFile = "audit_summary.md"
	EscrowFile       = "escrow.tar.gz"
	EscrowSigFile    = "escrow.tar.gz.sigstore.json"
	VerificationFile = "verification.json"          // the gate's report
	VSAFile          = "verification.sigstore.json" // SLSA Verification Summary Attestation
)
