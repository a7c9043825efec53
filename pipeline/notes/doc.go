// Package notes writes a release's RELEASE_NOTES.md from its git history.
//
// Contract:
//   - Collect reads the commits after the previous release tag up to the release commit
//     (internal/gitlog; no network). The previous tag is found by version order among the
//     release tags that are ancestors of the release commit. A shallow clone without it falls
//     back to all the history the clone has, and the notes say so; an empty range is
//     ErrNoCommits.
//   - ParseMessage reads Conventional Commits 1.0.0; messages that do not follow it are kept
//     as "Other changes", never dropped. GroupChanges lists breaking changes first, then
//     features, fixes, performance and security, then configurable groups, then the rest.
//   - Render is pure and deterministic: the date is the release commit's, lists keep git's
//     topological order, artifacts are sorted by path. Untrusted text (commit messages,
//     artifact names) is sanitised: no raw HTML, no broken code spans, shell-quoted names in
//     commands. The Verification section lists the artifacts, the manifest digest, the key
//     fingerprint and the exact offline commands for reliquary and cosign.
package notes
