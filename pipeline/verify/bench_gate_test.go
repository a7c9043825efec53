package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// BenchmarkGate1000 is issue 3's gate target: a release of 1,000 small artifacts, signed,
// with SLSA provenance and in-toto links (what `reliquary digest/sign/attest` write),
// verified with every signature and attestation check in under a second.
// bench/gate.sh compares the same release with cosign, once per artifact.
func BenchmarkGate1000(b *testing.B) {
	key, err := keys.Generate()
	if err != nil {
		b.Fatal(err)
	}
	dir := gateRelease(b, 1000, key)
	trusted := verify.WithKeys(key.PublicKey())
	cpu0 := cpuTime(b)
	for b.Loop() {
		r, err := verify.Run(context.Background(), dir, trusted)
		if err != nil || !r.Verified || !r.Authenticated || r.Failures() != 0 {
			b.Fatalf("gate: err=%v verified=%v authenticated=%v failures=%d", err, r != nil && r.Verified, r != nil && r.Authenticated, failures(r))
		}
	}
	// On a shared machine wall time mostly measures the neighbours' load; CPU time per
	// verification (all threads) is the number that says what the gate itself costs.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func failures(r *verify.Report) int {
	if r == nil {
		return -1
	}
	return r.Failures()
}

// gateRelease writes n small artifacts and runs the digest, sign and attest stages over them
// in-process, as the CLI does, declaring provenance so that the gate requires it.
func gateRelease(b *testing.B, n int, key *keys.PrivateKey) string {
	b.Helper()
	dir := b.TempDir()
	art := filepath.Join(dir, "artifacts")
	if err := os.Mkdir(art, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := filepath.Join(art, fmt.Sprintf("file-%04d.txt", i))
		if err := os.WriteFile(name, fmt.Appendf(nil, "artifact %d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	out, err := digest.Run(context.Background(), digest.Input{
		Dir: dir, Project: "app", Version: "v1.0.0", Algorithms: digest.WithSHA512,
		Attestations: []string{"provenance"},
	})
	if err != nil {
		b.Fatalf("digest: %v", err)
	}
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		b.Fatalf("sign: %v", err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := &attest.Input{
		Version:      "v1.0.0",
		Source:       attest.Source{Repository: "https://example.com/x", Commit: "0123456789abcdef0123456789abcdef01234567"},
		Builder:      attest.Builder{ID: attest.BuilderHost, Version: map[string]string{"reliquary": "bench"}},
		InvocationID: "bench-gate-1000", StartedOn: at, FinishedOn: at,
		Artifacts: out.Manifest.Artifacts,
	}
	if _, err := attest.Write(dir, in, key); err != nil {
		b.Fatalf("attest: %v", err)
	}
	set, err := links.BundleSet(dir, out.Manifest, at.Add(365*24*time.Hour))
	if err != nil {
		b.Fatalf("links: %v", err)
	}
	if _, err := links.Write(dir, set, key); err != nil {
		b.Fatalf("links: %v", err)
	}
	return dir
}
