package attest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trust"
)

func newKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// releaseDir makes a directory of n small real files, digested by the digest stage, and the
// provenance input for it.
func releaseDir(t testing.TB, n int) (string, *attest.Input) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := filepath.Join(dir, "artifacts", fmt.Sprintf("tool_%04d.bin", i))
		if err := os.WriteFile(name, []byte(fmt.Sprintf("artifact number %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "tool", Version: "v1.2.3",
		Algorithms: digest.WithSHA512,
		Source:     bundle.Source{Repository: "https://github.com/sentientos/reliquary", Commit: strings.Repeat("ab", 20)}})
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(0)
	in.Artifacts = out.Manifest.Artifacts
	return dir, in
}

// verifyAll reads the provenance bundles back, checks their signatures with the trust package
// and their statements with Check: the gate's path.
func verifyAll(t *testing.T, dir string, files []string, pub *keys.PublicKey, in *attest.Input) []attest.Problem {
	t.Helper()
	tk, err := trust.NewKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	var stmts []attest.Signed
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		stmt, _, err := tk.VerifyDSSE(data, attest.PayloadType)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		stmts = append(stmts, attest.Signed{File: f, Statement: stmt})
	}
	return attest.Check(stmts, in.Artifacts, in.Version)
}

func TestWriteSignsEveryShard(t *testing.T) {
	key := newKey(t)
	dir, in := releaseDir(t, 2500)
	out, err := attest.Write(dir, in, key)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"provenance.sigstore.json", "provenance-2.sigstore.json", "provenance-3.sigstore.json"}
	if strings.Join(out.Files, " ") != strings.Join(want, " ") || out.Subjects != 2500 {
		t.Fatalf("wrote %v with %d subjects, want %v with 2500", out.Files, out.Subjects, want)
	}
	if probs := verifyAll(t, dir, out.Files, key.PublicKey(), in); len(probs) != 0 {
		t.Fatalf("gate path on a fresh release: %v", probs)
	}
	// A wrong key is refused by the signature check before any statement is read.
	tk, _ := trust.NewKeys(newKey(t).PublicKey())
	data, _ := os.ReadFile(filepath.Join(dir, out.Files[0]))
	if _, _, err := tk.VerifyDSSE(data, attest.PayloadType); err == nil {
		t.Fatal("provenance verified with another key")
	}

	// Re-attesting a smaller release removes the shards it no longer has.
	in.Artifacts = in.Artifacts[:1000]
	out, err = attest.Write(dir, in, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || strings.Join(out.Removed, " ") != "provenance-2.sigstore.json provenance-3.sigstore.json" {
		t.Fatalf("second run wrote %v, removed %v", out.Files, out.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "provenance-2.sigstore.json")); !os.IsNotExist(err) {
		t.Fatalf("stale shard still there: %v", err)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	dir, in := releaseDir(t, 1)
	in.Source.Commit = "main"
	if _, err := attest.Write(dir, in, newKey(t)); err == nil || !strings.Contains(err.Error(), "source.commit") {
		t.Fatalf("Write = %v, want a source.commit error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.ProvenanceFile)); !os.IsNotExist(err) {
		t.Fatal("a refused input left a provenance file")
	}
}

// stockCosign finds cosign: $RELIQUARY_COSIGN, /work/tools/bin/cosign, then PATH.
func stockCosign(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_COSIGN"); p != "" {
		return p
	}
	if fi, err := os.Stat("/work/tools/bin/cosign"); err == nil && fi.Mode()&0o111 != 0 {
		return "/work/tools/bin/cosign"
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	t.Skip("stock cosign not found: set RELIQUARY_COSIGN or install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3 (CI does)")
	return ""
}

func cosignVerify(t *testing.T, cosign, bundleFile, pub, artifact string) (string, error) {
	t.Helper()
	cmd := exec.Command(cosign, "verify-blob-attestation", "--bundle", bundleFile, "--key", pub,
		"--insecure-ignore-tlog=true", "--type", "slsaprovenance1", artifact)
	// No network and no user state: cosign must decide offline.
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "SIGSTORE_NO_CACHE=true", "TUF_ROOT=" + t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestStockCosignVerifiesProvenance(t *testing.T) {
	cosign := stockCosign(t)
	key := newKey(t)
	dir, in := releaseDir(t, 1030) // two shards, so that both files are exercised
	out, err := attest.Write(dir, in, key)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "release.pub")
	if err := os.WriteFile(pub, key.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, filepath.FromSlash(in.Artifacts[0].Path))
	last := filepath.Join(dir, filepath.FromSlash(in.Artifacts[1029].Path))
	cases := []struct {
		name     string
		bundle   string
		artifact string
		accept   bool
	}{
		{"artifact in the first shard", out.Files[0], first, true},
		{"artifact in the second shard", out.Files[1], last, true},
		{"artifact against the wrong shard", out.Files[0], last, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := cosignVerify(t, cosign, filepath.Join(dir, c.bundle), pub, c.artifact)
			if c.accept && err != nil {
				t.Fatalf("cosign rejected %s: %v\n%s", c.artifact, err, msg)
			}
			if !c.accept && err == nil {
				t.Fatalf("cosign accepted %s against %s:\n%s", c.artifact, c.bundle, msg)
			}
		})
	}
	t.Run("tampered artifact", func(t *testing.T) {
		if err := os.WriteFile(first, []byte("tampered\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		msg, err := cosignVerify(t, cosign, filepath.Join(dir, out.Files[0]), pub, first)
		if err == nil {
			t.Fatalf("cosign accepted a tampered artifact:\n%s", msg)
		}
		if !strings.Contains(msg, "digest") {
			t.Errorf("cosign rejected it, but not for its digest:\n%s", msg)
		}
	})
	t.Run("another key", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.pub")
		os.WriteFile(other, newKey(t).PublicKey().PEM(), 0o644)
		if msg, err := cosignVerify(t, cosign, filepath.Join(dir, out.Files[1]), other, last); err == nil {
			t.Fatalf("cosign accepted provenance with another key:\n%s", msg)
		}
	})
}
