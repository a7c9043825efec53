// Package verify is the provenance gate. Given a release bundle it recomputes every digest,
// compares the bundle with its manifest and SHA256SUMS, runs the signature and attestation
// checks its options enable, and reports every problem it finds in one pass: a missing,
// changed, unexpected or unsafe file, a malformed record, a bad or missing signature.
//
// The gate never opens a network connection: everything it needs is the bundle and the keys
// its caller trusts. It never trusts keys found inside the bundle.
package verify

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/sentientos/reliquary/pipeline/sbom"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
)

// Check is one family of checks the gate runs. A check adds findings to the session and
// claims every bundle file it examined; files no check claims are reported as unexpected.
type Check interface {
	Name() string
	Run(ctx context.Context, s *Session)
}

// Option configures the gate. The zero configuration is strict: every digest is checked and
// every file must be accounted for.
type Option func(*config) error

type config struct {
	algorithms  digest.Algorithms
	workers     int
	checks      []Check
	trusted     bool // WithKeys or WithVerifier: signatures are checked
	digestsOnly bool // WithDigestsOnlyUnsafe: the caller opted out of signature checks
	sbomMemo    *sbom.Memo
}

// WithSBOMMemo shares SBOM checks that passed between gate runs over the same release (see
// sbom.Memo): the release runner's audit and seal both run the gate.
func WithSBOMMemo(m *sbom.Memo) Option {
	return func(c *config) error { c.sbomMemo = m; return nil }
}

// ErrNoTrustedKey: Run was given neither a trusted key nor the explicit opt-out. Digests
// alone prove nothing against an attacker who re-digests a changed release, so a gate
// without a key is never the default.
var ErrNoTrustedKey = errors.New("verify: no trusted key: give the release's public key (WithKeys), or opt out with WithDigestsOnlyUnsafe")

// WithDigestsOnlyUnsafe runs the gate without any signature check: digests, SHA256SUMS and
// the inventory only. It proves integrity against the manifest in the bundle, not
// authenticity: anyone can replace a file and re-digest. The report says so (DigestsOnly).
func WithDigestsOnlyUnsafe() Option {
	return func(c *config) error { c.digestsOnly = true; return nil }
}

// WithSHA512 also recomputes SHA-512 digests where the manifest has them (slower; SHA-256
// alone already binds every file).
func WithSHA512() Option {
	return func(c *config) error { c.algorithms = digest.WithSHA512; return nil }
}

// WithWorkers sets how many files are hashed at once (default: one per CPU).
func WithWorkers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("verify: workers: want at least 1, got %d", n)
		}
		c.workers = n
		return nil
	}
}

// WithCheck adds a check that runs after the manifest and digest checks.
func WithCheck(ch Check) Option {
	return func(c *config) error { c.checks = append(c.checks, ch); return nil }
}

// Run verifies the bundle in dir. It returns an error only when the gate could not run at
// all (dir missing or unreadable, bad options); every problem with the bundle itself is a
// finding in the report.
func Run(ctx context.Context, dir string, opts ...Option) (*Report, error) {
	cfg := config{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.trusted && cfg.digestsOnly:
		return nil, fmt.Errorf("verify: a trusted key and WithDigestsOnlyUnsafe exclude each other")
	case !cfg.trusted && !cfg.digestsOnly:
		return nil, ErrNoTrustedKey
	}
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	inv, err := b.Inventory()
	if err != nil {
		return nil, err
	}
	s := newSession(b, inv, dir)
	s.Report.DigestsOnly = cfg.digestsOnly
	s.sbomMemo = cfg.sbomMemo
	checks := append([]Check{manifestCheck{}, artifactsCheck{cfg.algorithms, cfg.workers}, checksumsCheck{}, reportCheck{}}, cfg.checks...)
	for _, c := range checks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.Run(ctx, s)
	}
	inventoryCheck{}.Run(ctx, s)
	s.Report.finish()
	return s.Report, nil
}
