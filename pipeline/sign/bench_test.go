package sign_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
)

// BenchmarkManifest1000 is what signing adds to a release of 1,000 artifacts (issue 3: under
// 50 ms): sign a manifest of that size, self-verify, write the bundle and keys/NAME.pub.
func BenchmarkManifest1000(b *testing.B) {
	k, err := keys.Generate()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var m strings.Builder
	m.WriteString(`{"artifacts":[`)
	for i := range 1000 {
		fmt.Fprintf(&m, `{"path":"artifacts/file-%04d.txt","kind":"file","mediaType":"text/plain","size":%d,"digest":{"sha256":"%064x","sha512":"%0128x"}},`, i, i, i, i)
	}
	m.WriteString(`{}]}`)
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), []byte(m.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(m.Len()))
	for b.Loop() {
		if _, err := sign.Manifest(dir, "release", k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadEncrypted is the one-off cost of opening an encrypted key (scrypt, cosign's
// parameters), paid once per command, not per artifact.
func BenchmarkLoadEncrypted(b *testing.B) {
	k, _ := keys.Generate()
	files, err := keys.Write(filepath.Join(b.TempDir(), "k"), k, keys.WithPassword(keys.StaticPassword([]byte("pw"))))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := keys.Load(files.Private, keys.StaticPassword([]byte("pw"))); err != nil {
			b.Fatal(err)
		}
	}
}
