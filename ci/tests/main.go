// Tests of the reliquary Dagger module against a real engine: run with
// `dagger call -m ./ci/tests all`. Each test releases a small Go project kept under testdata
// and checks a promise of the release: it verifies, tampering is caught, two releases of the
// same source are byte-for-byte identical, and the signing key appears nowhere in the bundle.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sentientos/reliquary/ci/tests/internal/dagger"
)

// What the test releases say about their source.
const (
	version    = "v1.2.3-rc.1"
	commit     = "0123456789abcdef0123456789abcdef01234567"
	repository = "https://example.com/multi"
	commitTime = 1767225600 // 2026-01-01T00:00:00Z
)

// Tests releases a test project with the reliquary module and checks the result.
type Tests struct {
	// The Go project released by the tests.
	Project *dagger.Directory // +private
	// Go toolchain image handed to the module (empty: the module's default).
	GoImage string // +private
	// Runtime image handed to the module (empty: the module's default).
	RuntimeImage string // +private
}

// New selects the project to release and, on machines without a registry, the images.
func New(
	// The Go project the tests release.
	// +defaultPath="/testdata/projects/multi"
	project *dagger.Directory,
	// Go toolchain image for the module (default: the module's).
	// +optional
	goImage string,
	// Runtime image for the module (default: the module's).
	// +optional
	runtimeImage string,
) *Tests {
	return &Tests{Project: project, GoImage: goImage, RuntimeImage: runtimeImage}
}

// All runs every test and reports each result; it fails if any test failed.
func (t *Tests) All(ctx context.Context) (string, error) {
	tests := []struct {
		name string
		run  func(context.Context) error
	}{
		{"release-verifies", t.ReleaseVerifies},
		{"tamper-fails", t.TamperFails},
		{"wrong-key-fails", t.WrongKeyFails},
		{"reproducible", t.Reproducible},
		{"key-not-in-bundle", t.KeyNotInBundle},
		{"stages-chain", t.StagesChain},
		{"git-release", t.GitRelease},
		{"git-options", t.GitOptions},
		{"git-shallow", t.GitShallow},
		{"pinned-toolchain", t.PinnedToolchain},
		{"publish", t.Publish},
	}
	var report []string
	var failed []error
	for _, tc := range tests {
		start := time.Now()
		err := tc.run(ctx)
		status := "PASS"
		if err != nil {
			status = "FAIL"
			failed = append(failed, fmt.Errorf("%s: %w", tc.name, err))
		}
		report = append(report, fmt.Sprintf("%s %s (%s)", status, tc.name, time.Since(start).Round(time.Millisecond)))
	}
	summary := strings.Join(report, "\n")
	if len(failed) > 0 {
		return summary, fmt.Errorf("%s\n%w", summary, errors.Join(failed...))
	}
	return summary + "\nok: all tests passed", nil
}

// module is the reliquary module under test with the configured images. A non-empty
// buildCache gives it a build cache of its own, so its builds start from nothing.
func (t *Tests) module(buildCache string) *dagger.Reliquary {
	opts := dagger.ReliquaryOpts{GoImage: t.GoImage, RuntimeImage: t.RuntimeImage}
	if buildCache != "" {
		opts.BuildCache = dag.CacheVolume(buildCache)
	}
	return dag.Reliquary(opts)
}

// testKey is a throwaway signing key made for one test run.
type testKey struct {
	secret *dagger.Secret
	pub    *dagger.File
	// patterns are strings that would reveal the private key if found in a bundle.
	patterns []string
}

func newTestKey(name string) (*testKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	scalar, err := priv.Bytes()
	if err != nil {
		return nil, err
	}
	k := &testKey{
		secret: dag.SetSecret(name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10), keyPEM),
		pub:    dag.Directory().WithNewFile(name+".pub", pubPEM).File(name + ".pub"),
		patterns: []string{
			"-----BEGIN " + "PRIVATE KEY-----", // split so no file here holds the marker
			hex.EncodeToString(scalar),
			base64.StdEncoding.EncodeToString(scalar),
			base64.StdEncoding.EncodeToString(der)[:48],
		},
	}
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) == 64 { // the PEM body lines
			k.patterns = append(k.patterns, line)
		}
	}
	return k, nil
}

// release cuts a release of the test project with key and returns its bundle.
func (t *Tests) release(key *testKey, buildCache string) *dagger.Directory {
	return t.module(buildCache).
		Release(t.Project, version, key.secret, dagger.ReliquaryReleaseOpts{
			Platforms: []string{"linux/amd64", "windows/amd64"},
			// The test project is a plain directory, not a checkout: its facts are given.
			Commit: commit, Repository: repository, SourceDateEpoch: commitTime,
		}).
		Bundle()
}

// ReleaseVerifies releases the test project and checks that the gate accepts the bundle
// with the release's public key, and that the bundle holds what a release promises.
func (t *Tests) ReleaseVerifies(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	b, err := materialize(ctx, t.release(key, ""), "release-verifies")
	if err != nil {
		return err
	}
	entries, err := b.Entries(ctx)
	if err != nil {
		return err
	}
	for _, want := range []string{"artifacts/", "manifest.json", "SHA256SUMS", "manifest.json.sigstore.json",
		"provenance.sigstore.json", "links/", "keys/", "deps.lock.json"} {
		if !contains(entries, want) {
			return fmt.Errorf("bundle lacks %s (has %v)", want, entries)
		}
	}
	summary, err := t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: b, PublicKey: key.pub})
	if err != nil {
		return fmt.Errorf("verify of a fresh release failed: %w", err)
	}
	if !strings.HasPrefix(summary, "VERIFIED") {
		return fmt.Errorf("verify passed without the gate's verdict: %q", summary)
	}
	report, err := t.module("").Verification(b, dagger.ReliquaryVerificationOpts{PublicKey: key.pub, ExpectVersion: version}).Report().Contents(ctx)
	if err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	var r struct {
		Verified      bool `json:"verified"`
		Authenticated bool `json:"authenticated"`
	}
	if err := json.Unmarshal([]byte(report), &r); err != nil || !r.Verified || !r.Authenticated {
		return fmt.Errorf("verification.json does not say verified and authenticated (%v): %s", err, report)
	}
	// No trusted key, no gate: exit code 2 saying to pass one, unless digests-only is asked for
	// by name, and then the verdict says so.
	_, err = t.module("").Verification(b).Summary(ctx)
	var noKey *dagger.ExecError
	if !errors.As(err, &noKey) || noKey.ExitCode != 2 || !strings.Contains(err.Error(), "--key") {
		return fmt.Errorf("verification without a key: want exit 2 asking for --key, got %v", err)
	}
	digests, err := t.module("").Verification(b, dagger.ReliquaryVerificationOpts{DigestsOnly: true}).Summary(ctx)
	if err != nil || !strings.Contains(digests, "digests only") {
		return fmt.Errorf("verification --digests-only: %q, %v", digests, err)
	}
	// The same intact, signed bundle is refused when another version is expected (rollback).
	_, err = t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: b, PublicKey: key.pub, ExpectVersion: "v9.9.9"})
	var ex *dagger.ExecError
	if !errors.As(err, &ex) || ex.ExitCode != 1 || !strings.Contains(err.Error(), "v9.9.9") {
		return fmt.Errorf("verify --expect-version=v9.9.9 of a %s bundle: want exit 1 naming v9.9.9, got %v", version, err)
	}
	return nil
}

// TamperFails flips one byte of one artifact and expects the gate to fail with exit code 1,
// naming the artifact.
func (t *Tests) TamperFails(ctx context.Context) error {
	key, err := newTestKey("tamper")
	if err != nil {
		return err
	}
	b, err := materialize(ctx, t.release(key, ""), "tamper-fails")
	if err != nil {
		return err
	}
	arts, err := b.Glob(ctx, "artifacts/*.tar.gz")
	if err != nil || len(arts) == 0 {
		return fmt.Errorf("no archive to tamper with (%v)", err)
	}
	target := arts[0]
	tampered := t.flipByte(b, target)
	_, err = t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: tampered, PublicKey: key.pub})
	if err == nil {
		return fmt.Errorf("verify accepted a bundle with one byte of %s flipped", target)
	}
	var ex *dagger.ExecError
	if !errors.As(err, &ex) || ex.ExitCode != 1 {
		return fmt.Errorf("verify failed, but not with the gate's exit code 1: %w", err)
	}
	if !strings.Contains(err.Error(), target) {
		return fmt.Errorf("verify's message does not name %s: %w", target, err)
	}
	return nil
}

// flipByte returns dir with the byte in the middle of file inverted, using the Go image.
func (t *Tests) flipByte(dir *dagger.Directory, file string) *dagger.Directory {
	const prog = `package main

import "os"

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil || len(b) == 0 {
		panic("cannot read " + os.Args[1])
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(os.Args[1], b, 0o644); err != nil {
		panic(err)
	}
}
`
	return t.goContainer().
		WithNewFile("/flip/main.go", prog).
		WithDirectory("/bundle", dir).
		WithExec([]string{"go", "run", "/flip/main.go", "/bundle/" + file}).
		Directory("/bundle")
}

// goContainer is a container of the Go image the module uses, for test helpers.
func (t *Tests) goContainer() *dagger.Container {
	img := t.GoImage
	if img == "" {
		img = "golang:1.26.8-bookworm"
	}
	return dag.Container().From(img).WithEnvVariable("GOTOOLCHAIN", "local").WithEnvVariable("GOFLAGS", "-mod=mod")
}

// WrongKeyFails checks that the gate refuses a release when given another key than the one
// that signed it.
func (t *Tests) WrongKeyFails(ctx context.Context) error {
	key, err := newTestKey("signer")
	if err != nil {
		return err
	}
	other, err := newTestKey("other")
	if err != nil {
		return err
	}
	_, err = t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: t.release(key, ""), PublicKey: other.pub})
	if err == nil {
		return errors.New("verify accepted a release signed with another key")
	}
	return nil
}

// Reproducible releases the same source twice, the second time with an empty build cache of
// its own, and checks that every artifact has the same digest; then replays the first.
func (t *Tests) Reproducible(ctx context.Context) error {
	key, err := newTestKey("repro")
	if err != nil {
		return err
	}
	first, err := materialize(ctx, t.release(key, ""), "reproducible-1")
	if err != nil {
		return err
	}
	second, err := materialize(ctx, t.release(key, "reliquary-tests-"+strconv.FormatInt(time.Now().UnixNano(), 10)), "reproducible-2")
	if err != nil {
		return err
	}
	a, err := artifactSums(ctx, first)
	if err != nil {
		return err
	}
	b, err := artifactSums(ctx, second)
	if err != nil {
		return err
	}
	if len(a) == 0 {
		return errors.New("no artifacts in SHA256SUMS")
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		return fmt.Errorf("artifact digests differ between two builds of the same source:\n%s\n---\n%s",
			strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if _, err := t.module("").Replay(ctx, first, t.Project, key.pub); err != nil {
		return fmt.Errorf("replay of the release failed: %w", err)
	}
	return nil
}

// artifactSums are the SHA256SUMS lines of a bundle's artifacts, sorted.
func artifactSums(ctx context.Context, b *dagger.Directory) ([]string, error) {
	sums, err := b.File("SHA256SUMS").Contents(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(sums, "\n") {
		if strings.Contains(line, "artifacts/") {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out, nil
}

// KeyNotInBundle searches every byte of the bundle for the private key in any of its
// encodings. The patterns are passed as a secret, so they are not in the test's logs either.
func (t *Tests) KeyNotInBundle(ctx context.Context) error {
	key, err := newTestKey("leak")
	if err != nil {
		return err
	}
	patterns := dag.SetSecret("leak-patterns-"+strconv.FormatInt(time.Now().UnixNano(), 10),
		strings.Join(key.patterns, "\n")+"\n")
	out, err := t.goContainer().
		WithMountedSecret("/run/patterns", patterns).
		WithDirectory("/bundle", t.release(key, "")).
		WithExec([]string{"grep", "-rlaF", "-f", "/run/patterns", "/bundle"},
			dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}).
		Sync(ctx)
	if err != nil {
		return err
	}
	code, err := out.ExitCode(ctx)
	if err != nil {
		return err
	}
	switch code {
	case 1: // no match
		return nil
	case 0:
		files, _ := out.Stdout(ctx)
		return fmt.Errorf("the private key appears in the bundle: %s", files)
	default:
		stderr, _ := out.Stderr(ctx)
		return fmt.Errorf("grep failed (exit %d): %s", code, stderr)
	}
}

// StagesChain runs the stages one at a time, as `dagger call source ... bundle` does, and
// checks that the result verifies like a release.
func (t *Tests) StagesChain(ctx context.Context) error {
	key, err := newTestKey("chain")
	if err != nil {
		return err
	}
	b := t.module("").
		Source(t.Project, version, dagger.ReliquarySourceOpts{Commit: commit, Repository: repository, SourceDateEpoch: commitTime}).
		Freeze().
		Build(dagger.ReliquaryFrozenBuildOpts{Platforms: []string{"linux/amd64"}}).
		Digest().
		Sign(key.secret).
		Attest().
		Notes().
		Audit().
		Escrow().
		Seal().
		Bundle()
	if b, err = materialize(ctx, b, "stages-chain"); err != nil {
		return err
	}
	if _, err = t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: b, PublicKey: key.pub}); err != nil {
		return err
	}
	return linkCommands(ctx, b)
}

// linkCommands checks that every stage's in-toto link holds the exact command the stage ran
// in its container (the CLI at its mount path, then the stage's subcommand), so an auditor
// can replay it.
func linkCommands(ctx context.Context, b *dagger.Directory) error {
	for _, stage := range []string{"freeze", "build", "digest", "sign", "attest"} {
		files, err := b.Glob(ctx, "links/"+stage+".*.link")
		if err != nil || len(files) != 1 {
			return fmt.Errorf("want one %s link, got %v (%v)", stage, files, err)
		}
		data, err := b.File(files[0]).Contents(ctx)
		if err != nil {
			return err
		}
		var link struct {
			Signed struct {
				Command []string `json:"command"`
			} `json:"signed"`
		}
		if err := json.Unmarshal([]byte(data), &link); err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
		if c := link.Signed.Command; len(c) < 3 || c[0] != "/usr/local/bin/reliquary" || c[1] != stage {
			return fmt.Errorf("%s: command %q is not the stage's own command line", files[0], c)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
