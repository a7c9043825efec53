// Package publish puts a verified release into an OCI registry and copies it between
// registries, with go-containerregistry doing all registry traffic.
//
// A published release VERSION in repository REPO is:
//   - the multi-platform image: the image index of artifacts/NAME_VERSION.oci.tar, pushed
//     from the layout as it is (same bytes, same digest, never rebuilt), tagged VERSION;
//   - two Sigstore bundle v0.3 referrers of that index, in the form `cosign sign` and
//     `cosign attest` of cosign v3 attach: an OCI 1.1 manifest with artifactType
//     application/vnd.dev.sigstore.bundle.v0.3+json, an empty config, one layer holding the
//     bundle, subject the index. The image signature is a DSSE in-toto statement whose
//     subject is the index digest, predicate type https://sigstore.dev/cosign/sign/v1 (what
//     `cosign verify` checks in the new bundle format); the image provenance is the
//     release's SLSA v1 provenance predicate restated with the index as its subject (what
//     `cosign verify-attestation --type slsaprovenance1` checks). Both are signed with the
//     release key at publish time;
//   - the whole release bundle as one OCI artifact (ArtifactType), one layer per file, each
//     named by its bundle path (org.opencontainers.image.title), subject the index, tagged
//     VERSION-bundle. One layer per file rather than an archive: blobs are content
//     addressed, so a rerun or a replication skips every file already there, any OCI client
//     (oras pull) gets the plain files, and there is no archive format to parse on pull.
//
// Registries without the referrers API get the referrers tag schema (the index tagged
// sha256-HEX), which go-containerregistry writes and reads on its own.
//
// Order makes an interrupted push harmless: everything is pushed by digest first and the
// tags last, VERSION-bundle at the very end. Verify starts from that tag, so nothing short
// of a complete push verifies; a rerun pushes what is missing.
package publish
