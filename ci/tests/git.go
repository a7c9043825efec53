package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sentientos/reliquary/ci/tests/internal/dagger"
)

// gitVersion is the release the git tests cut: the next after three tagged releases.
const gitVersion = "v0.4.0"

// sinceLastTag are the conventional commits after v0.3.0 in the scratch repository: the
// notes of gitVersion list exactly these.
var sinceLastTag = []string{"feat: verify bundles offline", "fix: name the file that drifted", "docs: explain the gate"}

// gitPlatforms keep the git tests' builds short.
var gitPlatforms = []string{"linux/amd64", "windows/amd64"}

// scratchRepo is the test project as a user's checkout is when the next release is cut:
// three tagged releases, conventional commits since the last, a remote.
func (t *Tests) scratchRepo() *dagger.Directory {
	script := `set -e
cd /repo
cat > internal/greet/greet_test.go <<'GO'
package greet

import "testing"

func BenchmarkLine(b *testing.B) {
	for range b.N {
		_ = Line("alpha", "v1.0.0", "0123456")
	}
}
GO
git init -q
git config user.email tests@example.com
git config user.name tests
export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
git add -A
git commit -qm "feat: first release"
git tag v0.1.0
git commit -q --allow-empty -m "fix: a bug of v0.1.0"
git tag v0.2.0
git commit -q --allow-empty -m "feat: an idea of v0.3.0"
git tag -a -m v0.3.0 v0.3.0
`
	for i, m := range sinceLastTag {
		script += fmt.Sprintf("GIT_COMMITTER_DATE=2026-01-0%dT00:00:00Z git commit -q --allow-empty -m %q\n", i+2, m)
	}
	script += "git remote add origin https://example.com/scratch/multi.git\n"
	return t.goImage().WithDirectory("/repo", t.Project).WithExec([]string{"sh", "-c", script}).Directory("/repo")
}

// goImage is the plain Go image the module uses.
func (t *Tests) goImage() *dagger.Container {
	img := t.GoImage
	if img == "" {
		img = "golang:1.26.8-bookworm"
	}
	return dag.Container().From(img)
}

// GitRelease is the release a maintainer cuts from a checkout with no git flags: the module
// reads the commit, remote, ref and time from .git; its notes list exactly the commits since
// the last tag; its bundle has the local runner's file set and byte-identical artifacts; and
// the gate, stock cosign, stock in-toto and sha256sum -c accept it.
func (t *Tests) GitRelease(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	repo := t.scratchRepo()
	mod, err := materialize(ctx, t.module("").Release(repo, gitVersion, key.secret, dagger.ReliquaryReleaseOpts{Platforms: gitPlatforms}).Bundle(), "git-release")
	if err != nil {
		return err
	}
	if err := checkNotes(ctx, mod); err != nil {
		return err
	}
	if err := t.sameAsLocalRunner(ctx, mod, t.localRelease(repo, key)); err != nil {
		return err
	}
	if _, err := t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: mod, PublicKey: key.pub, ExpectVersion: gitVersion}); err != nil {
		return fmt.Errorf("the gate refused the module's release: %w", err)
	}
	return t.stockToolsAccept(ctx, mod, key)
}

// checkNotes: the notes list the commits since the last tag and none of an earlier release.
func checkNotes(ctx context.Context, b *dagger.Directory) error {
	notes, err := b.File("RELEASE_NOTES.md").Contents(ctx)
	if err != nil {
		return fmt.Errorf("the bundle has no RELEASE_NOTES.md: %w", err)
	}
	for _, m := range sinceLastTag {
		_, subject, _ := strings.Cut(m, ": ")
		if !strings.Contains(notes, subject) {
			return fmt.Errorf("the notes lack %q:\n%s", m, notes)
		}
	}
	for _, old := range []string{"a bug of v0.1.0", "an idea of v0.3.0", "first release"} {
		if strings.Contains(notes, old) {
			return fmt.Errorf("the notes list %q, a commit of an earlier release:\n%s", old, notes)
		}
	}
	if !strings.Contains(notes, "since v0.3.0") {
		return fmt.Errorf("the notes do not say they start at v0.3.0:\n%s", notes)
	}
	return nil
}

// localRelease is `reliquary release` on the same checkout, in a plain Go container with the
// module's CLI: the local runner, at another path, with other caches and another HOME.
func (t *Tests) localRelease(repo *dagger.Directory, key *testKey, flags ...string) *dagger.Directory {
	return t.goImage().
		WithMountedFile("/usr/local/bin/reliquary", t.module("").Cli()).
		WithDirectory("/home/maintainer/project", repo).
		WithMountedSecret("/home/maintainer/keys/release.key", key.secret).
		WithEnvVariable("HOME", "/home/maintainer").
		WithWorkdir("/home/maintainer").
		WithExec(append([]string{"reliquary", "release", "--source", "project", "--version", gitVersion,
			"--key", "keys/release.key", "--out", "out/dist", "--platforms", strings.Join(gitPlatforms, ",")}, flags...)).
		Directory("/home/maintainer/out/dist")
}

// sameAsLocalRunner: both bundles hold the same files, and every artifact has the same bytes.
func (t *Tests) sameAsLocalRunner(ctx context.Context, mod, local *dagger.Directory) error {
	script := `set -e
cd /module && find . -type f | sort > /tmp/module.files
cd /local && find . -type f | sort > /tmp/local.files
diff /tmp/module.files /tmp/local.files
cd /local/artifacts && sha256sum * > /tmp/local.sums
cd /module/artifacts && sha256sum -c /tmp/local.sums
echo "files: $(wc -l < /tmp/module.files)"`
	c := t.goImage().WithDirectory("/module", mod).WithDirectory("/local", local)
	return expectSuccess(ctx, c, "the module's bundle differs from the local runner's", "sh", "-c", script)
}

// stockToolsAccept checks the bundle with tools nobody here wrote: sha256sum -c, cosign
// v3.1.3 (manifest signature and provenance) and the in-toto v0.11.0 verifier.
func (t *Tests) stockToolsAccept(ctx context.Context, b *dagger.Directory, key *testKey) error {
	script := `set -e
cd /bundle
sha256sum -c SHA256SUMS
cosign verify-blob --bundle manifest.json.sigstore.json --key /keys/release.pub --insecure-ignore-tlog=true manifest.json
for a in artifacts/*.tar.gz; do
  cosign verify-blob-attestation --bundle provenance.sigstore.json --key /keys/release.pub --insecure-ignore-tlog=true --type slsaprovenance1 "$a"
done
HOME=/tmp in-toto-golang verify -l links/root.layout -k /keys/release.pub -d links
echo "stock tools accept the release"`
	c := t.goImage().
		WithDirectory("/tools", t.stockTools()).
		WithEnvVariable("PATH", "/tools:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
		WithDirectory("/bundle", b).
		WithMountedFile("/keys/release.pub", key.pub)
	return expectSuccess(ctx, c, "a stock tool refused the release", "sh", "-c", script)
}

// stockTools builds stock cosign v3.1.3 and the in-toto verifier v0.11.0 from the Go module
// proxy, cached across runs.
func (t *Tests) stockTools() *dagger.Directory {
	return t.goImage().
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("reliquary-tests-tools-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("reliquary-tests-tools-build")).
		WithEnvVariable("GOBIN", "/tools").
		WithExec([]string{"go", "install", "github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3"}).
		WithExec([]string{"go", "install", "github.com/in-toto/in-toto-golang@v0.11.0"}).
		Directory("/tools")
}

// expectSuccess runs argv in c and fails with its output, under what, unless it exits 0.
func expectSuccess(ctx context.Context, c *dagger.Container, what string, argv ...string) error {
	out := c.WithExec(argv, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := out.ExitCode(ctx)
	if err != nil {
		return err
	}
	if code != 0 {
		stdout, _ := out.Stdout(ctx)
		stderr, _ := out.Stderr(ctx)
		return fmt.Errorf("%s (exit %d):\n%s\n%s", what, code, stdout, stderr)
	}
	return nil
}

// GitOptions releases the checkout with --check-reproducible and --bench (against the last
// tag): the bundle carries the signed reproducibility result, bench.json and its signature,
// and the bench link, and has the local runner's file set with the same options.
func (t *Tests) GitOptions(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	repo := t.scratchRepo()
	mod, err := materialize(ctx, t.module("").Release(repo, gitVersion, key.secret, dagger.ReliquaryReleaseOpts{
		Platforms: gitPlatforms, CheckReproducible: true, Bench: true, BenchBaseline: "v0.3.0",
	}).Bundle(), "git-options")
	if err != nil {
		return err
	}
	for _, f := range []string{"reproducibility.sigstore.json", "bench.json", "bench.sigstore.json"} {
		if _, err := mod.File(f).Size(ctx); err != nil {
			return fmt.Errorf("the bundle lacks %s: %w", f, err)
		}
	}
	if links, err := mod.Glob(ctx, "links/bench.*.link"); err != nil || len(links) != 1 {
		return fmt.Errorf("want one bench link, got %v (%v)", links, err)
	}
	local := t.localRelease(repo, key, "--check-reproducible", "--bench", "--bench-baseline", "v0.3.0")
	if err := t.sameAsLocalRunner(ctx, mod, local); err != nil {
		return err
	}
	_, err = t.module("").Verify(ctx, dagger.ReliquaryVerifyOpts{Bundle: mod, PublicKey: key.pub, ExpectVersion: gitVersion})
	return err
}

// GitShallow releases from a shallow clone that does not reach the previous release tag: the
// release fails and says how to fetch the history, instead of writing wrong notes. The tree
// without .git is the same for two commits that change no file, so the stages given the tree
// are keyed by the tree alone.
func (t *Tests) GitShallow(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	repo := t.scratchRepo()
	shallow := t.goImage().WithDirectory("/repo", repo).
		WithExec([]string{"git", "clone", "-q", "--depth", "2", "file:///repo", "/shallow"}).
		Directory("/shallow")
	_, err = t.module("").Release(repo.WithoutDirectory(".git").WithDirectory(".git", shallow.Directory(".git")), gitVersion, key.secret,
		dagger.ReliquaryReleaseOpts{Platforms: []string{"linux/amd64"}}).Bundle().Sync(ctx)
	if err == nil {
		return fmt.Errorf("a release from a shallow clone without the previous tag succeeded")
	}
	var ex *dagger.ExecError
	if !errors.As(err, &ex) || ex.ExitCode != 2 || !strings.Contains(ex.Stderr, "fetch-depth: 0") {
		return fmt.Errorf("the shallow clone's failure is not exit 2 saying how to fetch the history: %v", err)
	}
	again := t.goImage().WithDirectory("/repo", repo).
		WithExec([]string{"sh", "-c", "cd /repo && git -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m 'chore: no file changes'"}).
		Directory("/repo")
	a, err := t.module("").Source(repo, gitVersion).Tree().Digest(ctx)
	if err != nil {
		return err
	}
	b, err := t.module("").Source(again, gitVersion).Tree().Digest(ctx)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("the tree of two commits that change no file differs (%s, %s): .git reached the build stages", a, b)
	}
	return nil
}

// materialize runs the release behind dir once and returns its files as plain content. A
// release is never cached (+cache="never"), so every use of the lazy directory would cut
// another release; the checks must all look at the one release.
func materialize(ctx context.Context, dir *dagger.Directory, name string) (*dagger.Directory, error) {
	if _, err := dir.Export(ctx, name); err != nil {
		return nil, err
	}
	return dag.CurrentModule().Workdir(name), nil
}
