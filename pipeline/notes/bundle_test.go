package notes_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/version"
)

// signedBundle returns a digested bundle whose manifest is signed with a new key, stored as
// keys/release.pub, and the key.
func signedBundle(t *testing.T) (string, *keys.PrivateKey) {
	t.Helper()
	dir := testbundle.New(t, testbundle.Default())
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	return dir, key
}

func TestVerificationFromBundle(t *testing.T) {
	dir, key := signedBundle(t)
	v, m, err := notes.VerificationFromBundle(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if v.ManifestDigest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("manifest digest = %s", v.ManifestDigest)
	}
	if v.KeyFingerprint != key.PublicKey().Fingerprint() {
		t.Errorf("fingerprint = %s, want the bundle key's %s", v.KeyFingerprint, key.PublicKey().Fingerprint())
	}
	if len(v.Artifacts) != len(m.Artifacts) || m.Version != "v1.0.0" || m.Project != "app" {
		t.Errorf("artifacts %d, manifest %s %s", len(v.Artifacts), m.Project, m.Version)
	}
	for _, a := range v.Artifacts {
		content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if s := sha256.Sum256(content); hex.EncodeToString(s[:]) != a.Digest.SHA256 || int64(len(content)) != a.Size {
			t.Errorf("%s: table digest/size do not match the file", a.Path)
		}
	}

	other, _ := keys.Generate()
	v, _, err = notes.VerificationFromBundle(dir, other.PublicKey())
	if err != nil || v.KeyFingerprint != other.PublicKey().Fingerprint() {
		t.Errorf("explicit signer key not used: %v", err)
	}
	// A second public key in keys/: the notes must not guess.
	if err := os.WriteFile(filepath.Join(dir, bundle.KeysDir, "old.pub"), other.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := notes.VerificationFromBundle(dir, nil); err == nil || !strings.Contains(err.Error(), "2 public keys") {
		t.Errorf("two bundle keys: %v", err)
	}
	if _, _, err := notes.VerificationFromBundle(dir, key.PublicKey()); err != nil {
		t.Errorf("two bundle keys with the signer named: %v", err)
	}
}

func TestVerificationFromBundleErrors(t *testing.T) {
	unsigned := testbundle.New(t, testbundle.Default())
	if v, _, err := notes.VerificationFromBundle(unsigned, nil); err != nil || v.KeyFingerprint != "" {
		t.Errorf("bundle without keys: %+v, %v", v, err)
	}
	if _, _, err := notes.VerificationFromBundle(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("missing bundle accepted")
	}
	if _, _, err := notes.VerificationFromBundle(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), bundle.ManifestFile) {
		t.Errorf("bundle without a manifest: %v", err)
	}
	bad := testbundle.New(t, testbundle.Default())
	os.WriteFile(filepath.Join(bad, bundle.ManifestFile), []byte(`{"schema":"nope"}`), 0o644)
	if _, _, err := notes.VerificationFromBundle(bad, nil); !errors.Is(err, bundle.ErrManifest) {
		t.Errorf("bad manifest: %v", err)
	}
	junkKey := testbundle.New(t, testbundle.Default())
	os.MkdirAll(filepath.Join(junkKey, bundle.KeysDir), 0o755)
	os.WriteFile(filepath.Join(junkKey, bundle.KeysDir, "release.pub"), []byte("not a key"), 0o644)
	if _, _, err := notes.VerificationFromBundle(junkKey, nil); err == nil || !strings.Contains(err.Error(), "keys/release.pub") {
		t.Errorf("junk key file: %v", err)
	}
}

// cosignBinary finds cosign through RELIQUARY_COSIGN or PATH.
func cosignBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_COSIGN"); p != "" {
		return p
	}
	p, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign not found (set RELIQUARY_COSIGN or put cosign on PATH); CI installs it")
	}
	return p
}

// writeProvenance signs a minimal SLSA Provenance v1 statement over the bundle's subjects,
// standing in for the attest stage, so the cosign commands in the notes can be run.
func writeProvenance(t *testing.T, dir string, subjects artifact.List, key *keys.PrivateKey) {
	t.Helper()
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": map[string]any{
			"buildDefinition": map[string]any{"buildType": "https://example.test/build/v1", "externalParameters": map[string]any{}},
			"runDetails":      map[string]any{"builder": map[string]any{"id": "https://example.test/builder"}},
		},
	}
	var subs []subject
	for _, a := range subjects {
		subs = append(subs, subject{Name: a.Path, Digest: map[string]string{"sha256": a.Digest.SHA256}})
	}
	st["subject"] = subs
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.DSSE(data, sign.InTotoPayloadType, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ProvenanceFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// cosignCommands returns the command lines of the notes' cosign code block.
func cosignCommands(t *testing.T, md string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(md, "### With cosign")
	if !ok {
		t.Fatal("no cosign section")
	}
	_, block, _ := strings.Cut(rest, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	return strings.Split(strings.TrimSpace(block), "\n")
}

// TestCosignCommandsWork runs the exact cosign commands the notes print, in the bundle, with
// stock cosign: they must pass on the release and fail once an artifact is swapped.
func TestCosignCommandsWork(t *testing.T) {
	cosign := cosignBinary(t)
	dir, key := signedBundle(t)
	v, m, err := notes.VerificationFromBundle(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeProvenance(t, dir, m.Artifacts.Subjects(), key)
	// The commands run next to the release directory, where the reader keeps the key.
	parent := filepath.Dir(dir)
	v.BundleDir = filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(parent, "release.pub"), key.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &notes.History{Version: version.MustParse("v1.0.0"), Commit: strings.Repeat("a", 40), Changes: []notes.Change{{Commit: strings.Repeat("b", 40), Message: notes.ParseMessage("feat: x")}}}
	md, err := notes.Render(notes.Document{Project: m.Project, History: h, Verification: v})
	if err != nil {
		t.Fatal(err)
	}
	cmds := cosignCommands(t, string(md))
	if len(cmds) != 1+len(m.Artifacts.Subjects()) {
		t.Fatalf("%d cosign commands for %d subjects", len(cmds), len(m.Artifacts.Subjects()))
	}
	run := func(line string) ([]byte, error) {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = parent
		cmd.Env = []string{"PATH=" + filepath.Dir(cosign) + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
		return cmd.CombinedOutput()
	}
	for _, line := range cmds {
		if out, err := run(line); err != nil {
			t.Errorf("%s\n%v\n%s", line, err, out)
		}
	}
	swapped := m.Artifacts.Subjects()[0].Path
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(swapped)), []byte("swapped"), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, line := range cmds {
		if strings.HasSuffix(line, " "+v.BundleDir+"/"+swapped) {
			checked++
			if out, err := run(line); err == nil {
				t.Errorf("cosign accepted a swapped %s:\n%s", swapped, out)
			}
		}
	}
	if checked != 1 {
		t.Errorf("%d commands name %s, want 1", checked, swapped)
	}
	if !bytes.Contains(md, []byte(v.KeyFingerprint)) {
		t.Error("fingerprint missing from the notes")
	}
}

// TestFingerprintCommand runs the openssl line the notes print and expects the fingerprint
// the notes state.
func TestFingerprintCommand(t *testing.T) {
	for _, tool := range []string{"openssl", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir, key := signedBundle(t)
	v, _, err := notes.VerificationFromBundle(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "release.pub"), key.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &notes.History{Version: version.MustParse("v1.0.0"), Commit: strings.Repeat("a", 40)}
	md, err := notes.Render(notes.Document{History: h, Verification: v})
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(md), "```sh\nopenssl")
	line, _, _ := strings.Cut(rest, "\n")
	cmd := exec.Command("sh", "-c", "openssl"+line)
	cmd.Dir = filepath.Dir(dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl%s: %v", line, err)
	}
	if got := strings.Fields(string(out)); len(got) == 0 || got[0] != v.KeyFingerprint {
		t.Errorf("openssl fingerprint %q, notes say %s", out, v.KeyFingerprint)
	}
}
