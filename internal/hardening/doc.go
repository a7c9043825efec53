// Package hardening holds reliquary's hardening suite: tests that attack a real release
// and a small helper those tests share.
//
// The tests (go test ./internal/hardening) build one signed release with the real CLI,
// then prove, each with a check that can fail:
//   - the adversarial matrix: every file of the bundle under every applicable attack is
//     rejected by the gate, in process (verify.Run) and by `reliquary verify` (exit 1,
//     naming the file); by-design exceptions and known gaps are listed, never skipped;
//   - zero network: `reliquary verify` passes inside a network namespace with no
//     interfaces, opens no socket under strace, and the in-process gate and replay never
//     dial;
//   - secret hygiene: no encoding of the private key or of its password appears in any
//     output file (archives and OCI layers included), log line or key error message;
//   - crash safety: a release killed with SIGKILL never leaves an output directory the
//     gate accepts, and a re-run with the same --out succeeds;
//   - every parser has a fuzz target.
//
// The helper is Scanner: it looks for secrets in every encoding a leak is likely to take,
// inside gzip, tar and zip archives and base64 strings of JSON documents, recursively.
package hardening
