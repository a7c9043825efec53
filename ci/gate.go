package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/sentientos/reliquary/ci/internal/dagger"
	layout "github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Verification is what the provenance gate found.
type Verification struct {
	// The gate's report, as text.
	Summary string
	// The gate's report as JSON (verification.json).
	Report *dagger.File
	// SLSA Verification Summary Attestation: the unsigned in-toto statement of the verdict
	// (none with --digests-only, which vouches for no signature).
	Vsa *dagger.File
}

// Verify is the provenance gate: it fails unless the bundle is intact and signed by the key.
//
// It recomputes every digest of the bundle, checks the manifest signature, the provenance and
// the in-toto links against the trusted public key, and names every problem it finds. It runs
// offline and exits with the gate's exit code: 1 when the release must not be used, 2 when the
// input cannot be read. It prints the gate's report; verification returns it as files.
// +check
func (r *Reliquary) Verify(
	ctx context.Context,
	// The release bundle to check (default: dist/ at the repository root).
	// +defaultPath="/dist"
	bundle *dagger.Directory,
	// The trusted public key (PEM) the release must be signed with (default: release.pub at
	// the repository root).
	// +defaultPath="/release.pub"
	publicKey *dagger.File,
	// Fail unless the bundle is this version: a rolled-back or swapped release is still
	// validly signed, and only the caller knows which version it meant to fetch.
	// +optional
	expectVersion string,
	// Check digests only, trusting no key: unsafe (a forged release passes), and the verdict
	// says so. Without it a gate with no key fails with exit code 2.
	// +optional
	digestsOnly bool,
) (string, error) {
	v, err := r.Verification(ctx, bundle, publicKey, expectVersion, digestsOnly)
	if err != nil {
		return "", err
	}
	return v.Summary, nil
}

// Verification runs the provenance gate, as verify does, and returns its report as files.
//
// The JSON report (verification.json) and an unsigned SLSA verification summary, for CI
// artifacts: verification --bundle=dist --public-key=release.pub report export --path=verification.json.
func (r *Reliquary) Verification(
	ctx context.Context,
	// The release bundle to check.
	bundle *dagger.Directory,
	// The trusted public key (PEM) the release must be signed with (required unless
	// --digests-only: the gate fails with exit code 2 without one).
	// +optional
	publicKey *dagger.File,
	// Fail unless the bundle is this version (for example the tag being deployed).
	// +optional
	expectVersion string,
	// Check digests only, trusting no key: unsafe, and the verdict says so (no summary).
	// +optional
	digestsOnly bool,
) (*Verification, error) {
	c := r.runtimeStage(r.unpinned(), dag.Directory()).WithMountedDirectory(inPath, bundle)
	report, vsa := path.Join(workPath, layout.VerificationFile), path.Join(workPath, vsaStatementFile)
	args := []string{"verify", inPath, "--report", report}
	switch {
	case digestsOnly:
		args = append(args, "--digests-only")
	case publicKey != nil:
		c = c.WithMountedFile(pubPath, publicKey)
		args = append(args, "--key", pubPath, "--vsa", vsa)
	}
	// With neither, the CLI itself refuses: exit code 2, saying to pass a key.
	if expectVersion != "" {
		args = append(args, "--expect-version", expectVersion)
	}
	c, err := gate(ctx, c, args)
	if err != nil {
		return nil, err
	}
	summary, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verification{Summary: summary, Report: c.File(report)}
	if !digestsOnly {
		v.Vsa = c.File(vsa)
	}
	return v, nil
}

// vsaStatementFile names the unsigned verification summary Verify returns (the signed one in
// a bundle is layout.VSAFile).
const vsaStatementFile = "verification.intoto.json"

// gate runs a reliquary command whose failure is a verdict (verify, replay, bench) and, when
// it fails, returns an error whose message is the command's own report and whose exit code is
// the command's exit code, so that `dagger call` prints the report and exits as the CLI would.
func gate(ctx context.Context, c *dagger.Container, args []string) (*dagger.Container, error) {
	cmd := append([]string{cliPath}, args...)
	c = c.WithExec(cmd, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := c.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("reliquary %s: %w", args[0], err)
	}
	if code == 0 {
		return c, nil
	}
	stdout, err := c.Stdout(ctx)
	if err != nil {
		return nil, err
	}
	stderr, err := c.Stderr(ctx)
	if err != nil {
		return nil, err
	}
	return nil, gateError(cmd, code, stdout, stderr)
}

// gateError is an exec error carrying the gate's report as its message. The engine passes an
// error's extensions on to the caller; with these, `dagger call` exits with exitCode.
func gateError(cmd []string, code int, stdout, stderr string) error {
	msg := strings.TrimSpace(stdout)
	if msg == "" {
		msg = strings.TrimSpace(stderr)
	}
	return &gqlerror.Error{
		Message: fmt.Sprintf("reliquary %s failed (exit code %d):\n%s", cmd[1], code, msg),
		Extensions: map[string]any{
			"_type":    "EXEC_ERROR",
			"cmd":      cmd,
			"exitCode": code,
			"stderr":   strings.TrimSpace(stderr),
		},
	}
}
