// Package attest is the attest stage: it states, in signed SLSA Provenance v1, how every
// artifact of a release was built, and checks such statements against a manifest.
//
// Contract:
//   - Build turns a validated Input into in-toto v1 Statements (github.com/in-toto/attestation)
//     whose subjects are the release's provenance subjects (artifact.List.Subjects), named by
//     their path relative to the bundle root (see SubjectName) with their sha256 digest and
//     sha512 when the manifest has it, and whose predicate is SLSA Provenance v1. More than
//     MaxSubjects subjects are split into shards, each with the whole predicate. Statements
//     are serialized with protojson and are byte-for-byte deterministic.
//   - Sign wraps each statement in a DSSE Sigstore bundle (pipeline/sign) with payload type
//     PayloadType; Write stores them as provenance.sigstore.json, provenance-2.sigstore.json...
//     atomically and removes shards a previous run left beyond the new count.
//   - Check is the gate's side, a pure function over statements whose signatures were already
//     verified: right statement and predicate type, the manifest's version, and subjects equal
//     to the manifest's exactly. It reports every problem, never stops at the first.
package attest
