package hardening_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/hardening"
)

func tarOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScannerFindsPlantedSecrets shows the scan used by the secret-hygiene tests can fail:
// a secret hidden in each encoding and container they claim to cover is found, and clean
// or nearly-equal data is not flagged.
func TestScannerFindsPlantedSecrets(t *testing.T) {
	secret := make([]byte, 121)
	rand.Read(secret)
	s, err := hardening.NewScanner(hardening.Encoded("key", secret), hardening.Literal("password", "correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	// A DSSE-like payload: the secret base64-encoded at an odd offset inside a JSON string
	// inside base64 inside JSON.
	inner, _ := json.Marshal(map[string]string{"note": "x" + base64.StdEncoding.EncodeToString(append([]byte{1}, secret...))})
	envelope, _ := json.Marshal(map[string]any{"dsseEnvelope": map[string]string{"payload": base64.StdEncoding.EncodeToString(inner)}})
	layer := gzipOf(tarOf(t, map[string][]byte{"usr/bin/app": append([]byte("ELF..."), secret...)}))
	oci := tarOf(t, map[string][]byte{"blobs/sha256/abc": layer})
	cases := map[string][]byte{
		"raw":                append([]byte("prefix"), secret...),
		"hex upper":          []byte("k=" + strings.ToUpper(hex.EncodeToString(secret))),
		"base64 url":         []byte(`"` + base64.RawURLEncoding.EncodeToString(append([]byte{7, 7}, secret...)) + `"`),
		"json in base64":     envelope,
		"oci layer":          oci,
		"zip member":         zipOf(t, "app.exe", secret),
		"password in log":    []byte(`{"level":"INFO","msg":"x"}` + "\n" + `{"pw":"correct horse battery"}` + "\n"),
		"password in tar.gz": gzipOf(tarOf(t, map[string][]byte{"notes": []byte("correct horse battery")})),
	}
	for name, data := range cases {
		if leaks := s.Bytes(name, data); len(leaks) == 0 {
			t.Errorf("%s: planted secret not found", name)
		} else {
			t.Logf("%s: %v", name, leaks)
		}
	}
	near := bytes.Clone(secret)
	near[60] ^= 1
	clean := map[string][]byte{
		"random":      secret[:0:0],
		"near miss":   append([]byte("x"), near...),
		"near in oci": tarOf(t, map[string][]byte{"blobs/sha256/abc": gzipOf(near)}),
		"other json":  []byte(`{"a":"` + base64.StdEncoding.EncodeToString(near) + `"}`),
	}
	for name, data := range clean {
		if leaks := s.Bytes(name, data); len(leaks) != 0 {
			t.Errorf("%s: false alarm %v", name, leaks)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("nothing"), 0o644)
	os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755)
	os.WriteFile(filepath.Join(dir, "artifacts", "image.oci.tar"), oci, 0o644)
	leaks, err := s.Dir(dir)
	if err != nil || len(leaks) == 0 || !strings.HasPrefix(leaks[0].Where, "artifacts/image.oci.tar!blobs/sha256/abc!gunzip!usr/bin/app") {
		t.Fatalf("Dir: %v %v", leaks, err)
	}
	if _, err := hardening.NewScanner(hardening.Literal("short", "pw")); err == nil {
		t.Error("a 2-byte secret was accepted")
	}
}
