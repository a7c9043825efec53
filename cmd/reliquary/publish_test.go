package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/internal/testbundle"
)

// publishable makes a signed, attested release candidate whose image is a real OCI layout,
// and returns it with the key prefix and the image index digest.
func publishable(t *testing.T) (dir, prefix, index string) {
	t.Helper()
	layoutTar, idx := registrytest.LayoutTar(t)
	dir, prefix = rcBundleOf(t, testbundle.Files{
		"artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz": "linux archive bytes",
		"artifacts/app_v1.0.0-rc.1.oci.tar":            string(layoutTar),
		"deps.lock.json":                               `{"schema":"x"}`,
	})
	return dir, prefix, idx.String()
}

// The acceptance path: publish after the gate, verify from the registry, replicate
// to a second registry server and verify there; stock cosign accepts the image at both.
func TestPublishVerifyReplicate(t *testing.T) {
	a, b := registrytest.Start(t), registrytest.Start(t)
	dir, prefix, index := publishable(t)
	code, stdout, stderr := cli(t, "publish", dir, "oci://"+a.Host+"/team/app", "--key", prefix+".key")
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"image", "signature", "provenance", "bundle", "tag v1.0.0-rc.1-bundle", index} {
		if !strings.Contains(stdout, want) {
			t.Errorf("publish output lacks %q:\n%s", want, stdout)
		}
	}
	src := "oci://" + a.Host + "/team/app:v1.0.0-rc.1"
	if code, stdout, stderr := cli(t, "verify", src, "--key", prefix+".pub", "--expect-version", "v1.0.0-rc.1"); code != 0 || !strings.Contains(stdout, "VERIFIED app v1.0.0-rc.1") {
		t.Fatalf("verify oci://: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ := cli(t, "verify", src, "--key", prefix+".pub", "--expect-version", "v1.0.0"); code != exitFailed {
		t.Fatalf("verify oci:// --expect-version of another release: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := cli(t, "verify", src); code != exitUsage || !strings.Contains(stderr, "--key") {
		t.Fatalf("verify oci:// without a key: exit %d %s", code, stderr)
	}
	code, stdout, stderr = cli(t, "replicate", src, "oci://"+b.Host+"/mirror/app", "--key", prefix+".pub")
	if code != 0 || strings.Count(stdout, " copied") != 6 {
		t.Fatalf("replicate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ = cli(t, "replicate", src, "oci://"+b.Host+"/mirror/app", "--key", prefix+".pub"); code != 0 || strings.Count(stdout, "already there") != 6 {
		t.Fatalf("replicate again: exit %d\n%s", code, stdout)
	}
	dst := "oci://" + b.Host + "/mirror/app:v1.0.0-rc.1"
	if code, stdout, stderr := cli(t, "verify", dst, "--key", prefix+".pub"); code != 0 {
		t.Fatalf("verify at the destination: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, reg := range []string{a.Host + "/team/app", b.Host + "/mirror/app"} {
		ref := reg + "@" + index
		for _, args := range [][]string{
			{"verify", "--key", prefix + ".pub", "--insecure-ignore-tlog=true", "--allow-http-registry", ref},
			{"verify-attestation", "--type", "slsaprovenance1", "--key", prefix + ".pub", "--insecure-ignore-tlog=true", "--allow-http-registry", ref},
		} {
			if out, err := registrytest.Cosign(t, args...); err != nil {
				t.Fatalf("cosign %s %s: %v\n%s", args[0], ref, err, out)
			}
		}
	}
}

// Bad input at the CLI: exit codes and messages.
func TestPublishBadInput(t *testing.T) {
	const password = "registry-pw-do-not-print"
	reg := registrytest.Start(t, registrytest.WithBasicAuth("ci", password))
	dir, prefix, _ := publishable(t)
	pwFile := filepath.Join(t.TempDir(), "registry-password")
	if err := os.WriteFile(pwFile, []byte("wrong-"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := "oci://" + reg.Host + "/app"
	code, stdout, stderr := cli(t, "publish", dir, tg, "--key", prefix+".key", "--registry-username", "ci", "--registry-password-file", pwFile)
	if code != exitUsage || strings.Contains(stdout+stderr, password) || !strings.Contains(stderr, "refused the credentials") {
		t.Fatalf("wrong registry password: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Setenv("RELIQUARY_REGISTRY_USERNAME", "ci")
	t.Setenv("RELIQUARY_REGISTRY_PASSWORD", password)
	if code, stdout, stderr := cli(t, "publish", dir, tg, "--key", prefix+".key"); code != 0 || strings.Contains(stdout+stderr, password) {
		t.Fatalf("publish with the password from the environment: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// A bundle file changed in the registry's storage: verify fails (1) and names it.
	data, _ := os.ReadFile(filepath.Join(dir, "artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz"))
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	blob := filepath.Join(reg.Storage, "docker/registry/v2/blobs/sha256", h[:2], h, "data")
	if err := os.WriteFile(blob, []byte("linux archive bytez"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = cli(t, "verify", tg+":v1.0.0-rc.1", "--key", prefix+".pub")
	if code != exitFailed || !strings.Contains(stderr, "artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz") {
		t.Fatalf("verify with a changed blob: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Not publishable: a release that fails the gate pushes nothing (1).
	if err := os.WriteFile(filepath.Join(dir, "artifacts/app_v1.0.0-rc.1_linux_amd64.tar.gz"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "publish", dir, tg, "--key", prefix+".key"); code != exitFailed || !strings.Contains(stderr, "nothing was pushed") {
		t.Fatalf("publish of a changed release: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{
		{"publish", dir, "docker://" + reg.Host + "/app", "--key", prefix + ".key"},
		{"publish", dir, tg},
		{"replicate", tg + ":v1.0.0-rc.1", "oci://" + reg.Host + "/b"},
	} {
		if code, _, stderr := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}
