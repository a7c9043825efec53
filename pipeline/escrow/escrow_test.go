package escrow_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/escrow"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

var releaseTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// signedBundle is a digested, signed bundle with the post-manifest records a release writes.
func signedBundle(t *testing.T, key *keys.PrivateKey) string {
	t.Helper()
	dir := testbundle.New(t, testbundle.Default())
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		bundle.NotesFile: "# app v1.0.0\n", bundle.ChangelogFile: "# Changelog\n", bundle.AuditSummaryFile: "# Audit summary\n",
	} {
		if err := bundle.WriteFile(dir, name, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sha(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func TestWriteReadCheckRoundTrip(t *testing.T) {
	key := newKey(t)
	dir := signedBundle(t, key)
	out, err := escrow.Write(dir, key, releaseTime)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{bundle.ChangelogFile, bundle.NotesFile, bundle.ChecksumsFile, bundle.AuditSummaryFile, bundle.ManifestFile, bundle.ManifestSigFile}
	var names []string
	for _, m := range out.Members {
		names = append(names, m.Name)
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("members = %v, want %v (sorted)", names, want)
	}
	if got := sha(t, filepath.Join(dir, bundle.EscrowFile)); got != out.SHA256 {
		t.Fatalf("Output.SHA256 = %s, file has %s", out.SHA256, got)
	}
	// The signature covers the archive's sha256, with the release key, offline.
	sig, _ := os.ReadFile(filepath.Join(dir, bundle.EscrowSigFile))
	sum, _ := hex.DecodeString(out.SHA256)
	tk, err := trust.NewKeys(key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.VerifyMessage(sig, [32]byte(sum)); err != nil {
		t.Fatalf("escrow signature does not verify: %v", err)
	}
	f, _ := os.Open(filepath.Join(dir, bundle.EscrowFile))
	defer f.Close()
	members, err := escrow.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	loose := map[string]string{}
	for _, m := range members {
		loose[m.Name] = sha(t, filepath.Join(dir, m.Name))
		if m.Name == bundle.ManifestFile && m.Size != fileSize(t, filepath.Join(dir, m.Name)) {
			t.Errorf("manifest member size %d differs from the file", m.Size)
		}
	}
	if p := escrow.Check(members, loose); p != nil {
		t.Fatalf("a fresh escrow disagrees with its bundle: %v", p)
	}
	// Archive entries are normalized: release time, mode 0644, owner 0.
	ms, err := archive.List(filepath.Join(dir, bundle.EscrowFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if !m.ModTime.Equal(releaseTime) || m.Mode.Perm() != 0o644 || m.UID != 0 || m.Owner != "" {
			t.Errorf("entry %s not normalized: %+v", m.Name, m)
		}
	}
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestWriteIsDeterministic(t *testing.T) {
	key := newKey(t)
	dir := signedBundle(t, key)
	a, err := escrow.Write(dir, key, releaseTime)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, bundle.EscrowFile))
	// Touch every record: file times must not reach the archive.
	later := time.Now().Add(time.Hour)
	for _, m := range a.Members {
		os.Chtimes(filepath.Join(dir, m.Name), later, later)
	}
	b, err := escrow.Write(dir, key, releaseTime)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, bundle.EscrowFile))
	if a.SHA256 != b.SHA256 || !bytes.Equal(first, second) {
		t.Fatal("the same records gave two different escrow archives")
	}
}

func TestWriteNeedsASignedManifest(t *testing.T) {
	key := newKey(t)
	dir := testbundle.New(t, testbundle.Default()) // digested, not signed
	_, err := escrow.Write(dir, key, releaseTime)
	if err == nil || !strings.Contains(err.Error(), bundle.ManifestSigFile) {
		t.Fatalf("escrow of an unsigned bundle: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.EscrowFile)); err == nil {
		t.Fatal("a refused escrow left escrow.tar.gz behind")
	}
	if _, err := escrow.Write(signedBundle(t, key), nil, releaseTime); err == nil {
		t.Fatal("escrow without a key succeeded")
	}
}

func TestWriteRefusesSymlinkedRecord(t *testing.T) {
	key := newKey(t)
	dir := signedBundle(t, key)
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("not a record"), 0o644)
	os.Remove(filepath.Join(dir, bundle.NotesFile))
	if err := os.Symlink(outside, filepath.Join(dir, bundle.NotesFile)); err != nil {
		t.Skip("no symlinks here")
	}
	if _, err := escrow.Write(dir, key, releaseTime); err == nil {
		t.Fatal("escrow followed a symlink out of the bundle")
	}
}

// tarGz builds an archive by hand, so that tests can write what the writer never would.
type member struct {
	hdr  tar.Header
	data string
}

func tarGz(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		h := m.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(m.data))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(m.data))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func reg(name, data string) member { return member{hdr: tar.Header{Name: name}, data: data} }

func TestReadRefusesHostileArchives(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"path traversal", tarGz(t, reg("../manifest.json", "x")), `"../manifest.json"`},
		{"absolute path", tarGz(t, reg("/etc/passwd", "x")), `"/etc/passwd"`},
		{"record in a directory", tarGz(t, reg("links/manifest.json", "x")), "links/manifest.json"},
		{"dot prefix", tarGz(t, reg("./manifest.json", "x")), "./manifest.json"},
		{"unknown member", tarGz(t, reg(bundle.ManifestFile, "m"), reg("install.sh", "rm -rf /")), "install.sh"},
		{"symlink member", tarGz(t, member{hdr: tar.Header{Name: bundle.NotesFile, Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}}), "not a regular file"},
		{"hard link member", tarGz(t, reg(bundle.ManifestFile, "m"), member{hdr: tar.Header{Name: bundle.NotesFile, Typeflag: tar.TypeLink, Linkname: bundle.ManifestFile}}), "not a regular file"},
		{"directory member", tarGz(t, member{hdr: tar.Header{Name: "provenance-2.sigstore.json/", Typeflag: tar.TypeDir}}), "provenance-2.sigstore.json/"},
		{"duplicate member", tarGz(t, reg(bundle.ManifestFile, "a"), reg(bundle.ManifestFile, "b")), "twice"},
		{"not gzip", []byte("this is not an archive"), "gzip"},
		{"truncated", tarGz(t, reg(bundle.ManifestFile, strings.Repeat("m", 4096)))[:60], "escrow"},
		{"shard zero", tarGz(t, reg("provenance-0.sigstore.json", "x")), "provenance-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := escrow.Read(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, escrow.ErrArchive) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrArchive mentioning %q", err, tc.want)
			}
		})
	}
}

func TestReadBoundsSizes(t *testing.T) {
	// A member whose header claims more than the limit is refused before its content is read.
	big := member{hdr: tar.Header{Name: bundle.ManifestFile, Size: escrow.MaxMemberSize + 1}}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&big.hdr)
	zero := make([]byte, 1<<20)
	for left := big.hdr.Size; left > 0; left -= int64(len(zero)) {
		tw.Write(zero[:min(int64(len(zero)), left)])
	}
	tw.Close()
	zw.Close()
	_, err := escrow.Read(bytes.NewReader(buf.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized member: %v", err)
	}
}

func TestCheck(t *testing.T) {
	m := func(name, sum string) escrow.Member { return escrow.Member{Name: name, SHA256: sum} }
	full := []escrow.Member{m(bundle.ManifestFile, "aa"), m(bundle.NotesFile, "bb"), m(bundle.ChangelogFile, "cc"), m(bundle.AuditSummaryFile, "dd")}
	looseAll := map[string]string{bundle.ManifestFile: "aa", bundle.NotesFile: "bb", bundle.ChangelogFile: "cc", bundle.AuditSummaryFile: "dd"}
	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for a, b := range looseAll {
			c[a] = b
		}
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		members []escrow.Member
		loose   map[string]string
		want    []string // files named by the problems
	}{
		{"agree", full, looseAll, nil},
		{"notes changed", full, with(bundle.NotesFile, "ff"), []string{bundle.NotesFile}},
		{"notes deleted", full, with(bundle.NotesFile, ""), []string{bundle.NotesFile}},
		{"manifest of another release", full, with(bundle.ManifestFile, "ee"), []string{bundle.ManifestFile}},
		{"no manifest in escrow", full[1:], looseAll, []string{bundle.EscrowFile}},
		{"audit summary outside the escrow", full[:3], looseAll, []string{bundle.AuditSummaryFile}},
		{"changelog absent everywhere", []escrow.Member{full[0], full[1], full[3]}, with(bundle.ChangelogFile, ""), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := escrow.Check(tc.members, tc.loose)
			var files []string
			for _, p := range ps {
				files = append(files, p.File)
				if p.Message == "" {
					t.Errorf("problem without a reason: %+v", p)
				}
			}
			if strings.Join(files, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("problems %v, want files %v", ps, tc.want)
			}
		})
	}
}

func TestIsMember(t *testing.T) {
	for name, want := range map[string]bool{
		bundle.ManifestFile: true, bundle.ProvenanceFile: true, "provenance-7.sigstore.json": true,
		bundle.AuditSummaryFile: true, bundle.EscrowFile: false, bundle.VSAFile: false,
		"keys/release.pub": false, "artifacts/app.tar.gz": false,
	} {
		if escrow.IsMember(name) != want {
			t.Errorf("IsMember(%q) = %v, want %v", name, !want, want)
		}
	}
}
