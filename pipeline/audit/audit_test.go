package audit_test

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/image"
)

// release writes a bundle with a real image and archive, as the build stage makes them, lets
// change alter it, digests it and audits it.
func release(t *testing.T, change func(dir string), build []audit.BuildRecord) *audit.Report {
	t.Helper()
	dir := t.TempDir()
	goodImage(t, dir, "artifacts/app_v1.0.0.oci.tar", "v1.0.0")
	tarGzFile(t, filepath.Join(dir, "artifacts/app_v1.0.0_linux_amd64.tar.gz"),
		entry{name: "app", mode: 0o755, data: "binary"}, entry{name: "LICENSE", mode: 0o644, data: "MIT"})
	zipFile(t, filepath.Join(dir, "artifacts/app_v1.0.0_windows_amd64.zip"), entry{name: "app.exe", mode: 0o755, data: "exe"})
	writeFile(t, filepath.Join(dir, "deps.lock.json"), []byte(`{"schema":"x"}`))
	if change != nil {
		change(dir)
	}
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0",
		Source: bundle.Source{Repository: testRepo, Commit: testCommit}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(context.Background(), audit.Input{Dir: dir, Manifest: out.Manifest, CommitTime: commitTime, Build: build})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var hermetic = []audit.BuildRecord{{Name: "linux/amd64", Env: []string{"CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOPROXY=off"}}}

func TestSoundReleaseHasNoFindings(t *testing.T) {
	r := release(t, nil, hermetic)
	if len(r.Findings) != 0 {
		t.Fatalf("findings on a sound release: %+v", r.Findings)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	if len(r.Images) != 1 || len(r.Images[0].Manifests) != 1 {
		t.Fatalf("images = %+v", r.Images)
	}
	m := r.Images[0].Manifests[0]
	if m.Platform != "linux/amd64" || m.User != image.User || m.Labels[audit.LabelCreated] != "2025-03-01T12:00:00Z" || !strings.HasPrefix(r.Images[0].Index, "sha256:") {
		t.Fatalf("image read back as %+v", r.Images[0])
	}
	joined := strings.Join(r.Checked, "\n")
	for _, want := range []string{"image artifacts/app_v1.0.0.oci.tar (linux/amd64)", "archive artifacts/app_v1.0.0_windows_amd64.zip", "secrets: no private key", "build: 1 recorded command"} {
		if !strings.Contains(joined, want) {
			t.Errorf("checked list lacks %q:\n%s", want, joined)
		}
	}
}

func TestFindings(t *testing.T) {
	img := filepath.FromSlash("artifacts/app_v1.0.0.oci.tar")
	archive := filepath.FromSlash("artifacts/app_v1.0.0_linux_amd64.tar.gz")
	for _, tc := range []struct {
		name     string
		change   func(t *testing.T, dir string)
		build    []audit.BuildRecord
		severity audit.Severity
		subject  string // a substring of the finding's subject
		message  string // a substring of its message
	}{
		{"image runs as root", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "0:0", goodLabels(), commitTime, entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.High, "(linux/amd64)", "runs as root"},
		{"image without a user", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "", goodLabels(), commitTime, entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.High, "(linux/amd64)", "sets no user"},
		{"setuid file in a layer", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), commitTime, entry{name: "usr/bin/su", mode: 0o4755, data: "x"})
		}, hermetic, audit.High, "/usr/bin/su", "setuid"},
		{"setgid file in a layer", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), commitTime, entry{name: "usr/bin/wall", mode: 0o2755, data: "x"})
		}, hermetic, audit.High, "/usr/bin/wall", "setgid"},
		{"world-writable file in a layer", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), commitTime, entry{name: "etc/app.conf", mode: 0o666, data: "x"})
		}, hermetic, audit.High, "/etc/app.conf", "world-writable"},
		{"device in a layer", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), commitTime, entry{name: "dev/mem", mode: 0o600, typ: tar.TypeChar})
		}, hermetic, audit.High, "/dev/mem", "device"},
		{"private key in a layer", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), commitTime, entry{name: "etc/key.pem", mode: 0o644, data: privateKey})
		}, hermetic, audit.High, "/etc/key.pem", "private key"},
		{"label missing", func(t *testing.T, dir string) {
			l := goodLabels()
			delete(l, image.LabelRevision)
			craftedImage(t, filepath.Join(dir, img), "65532", l, commitTime, entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.Medium, "(linux/amd64)", "lacks the label " + image.LabelRevision},
		{"created is not the commit time", func(t *testing.T, dir string) {
			l := goodLabels()
			l[image.LabelCreated] = time.Now().UTC().Format(time.RFC3339)
			craftedImage(t, filepath.Join(dir, img), "65532", l, commitTime, entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.Medium, "(linux/amd64)", "not the commit time"},
		{"config created is the wall clock", func(t *testing.T, dir string) {
			craftedImage(t, filepath.Join(dir, img), "65532", goodLabels(), time.Now(), entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.Medium, "(linux/amd64)", "config created"},
		{"revision of another commit", func(t *testing.T, dir string) {
			l := goodLabels()
			l[image.LabelRevision] = strings.Repeat("f", 40)
			craftedImage(t, filepath.Join(dir, img), "65532", l, commitTime, entry{name: "app", mode: 0o755, data: "x"})
		}, hermetic, audit.Medium, "(linux/amd64)", "revision"},
		{"image is not a layout", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, img), tarBytes(t, entry{name: "hello", mode: 0o644, data: "x"}))
		}, hermetic, audit.Medium, "app_v1.0.0.oci.tar", "not checked"},
		{"setuid entry in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "app", mode: 0o4755, data: "x"})
		}, hermetic, audit.High, "linux_amd64.tar.gz: app", "setuid"},
		{"world-writable entry in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "app", mode: 0o777, data: "x"})
		}, hermetic, audit.High, "linux_amd64.tar.gz: app", "world-writable"},
		{"world-writable directory in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "share/", mode: 0o777, typ: tar.TypeDir})
		}, hermetic, audit.High, "share/", "world-writable"},
		{"path traversal in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "../../etc/cron.d/x", mode: 0o644, data: "x"})
		}, hermetic, audit.High, "../../etc/cron.d/x", "unsafe entry name"},
		{"symlink in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "app", mode: 0o777, typ: tar.TypeSymlink, data: "/etc/passwd"})
		}, hermetic, audit.Medium, "linux_amd64.tar.gz: app", "symlink"},
		{"setuid entry in a zip", func(t *testing.T, dir string) {
			zipFile(t, filepath.Join(dir, "artifacts/app_v1.0.0_windows_amd64.zip"), entry{name: "app.exe", mode: 0o4755, data: "x"})
		}, hermetic, audit.High, "windows_amd64.zip: app.exe", "setuid"},
		{"private key in an archive", func(t *testing.T, dir string) {
			tarGzFile(t, filepath.Join(dir, archive), entry{name: "docs/deploy.pem", mode: 0o644, data: "notes\n" + privateKey})
		}, hermetic, audit.High, "linux_amd64.tar.gz: docs/deploy.pem", "private key"},
		{"private key in a zip", func(t *testing.T, dir string) {
			zipFile(t, filepath.Join(dir, "artifacts/app_v1.0.0_windows_amd64.zip"), entry{name: "id_ed25519", mode: 0o600, data: armour("OPENSSH PRIVATE KEY", "\n", "b3Blbn")})
		}, hermetic, audit.High, "windows_amd64.zip: id_ed25519", "private key"},
		{"private key as a loose file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "artifacts/release.key"), []byte(privateKey))
		}, hermetic, audit.High, "artifacts/release.key", "private key"},
		{"PGP private key", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "artifacts/signing.asc"), []byte(armour("PGP PRIVATE KEY BLOCK", "\n", "\nlQ")))
		}, hermetic, audit.High, "artifacts/signing.asc", "private key"},
		{"corrupt archive", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, archive), []byte("not gzip"))
		}, hermetic, audit.Medium, "linux_amd64.tar.gz", "not checked"},
		{"build with network", nil, []audit.BuildRecord{{Name: "linux/amd64", Env: []string{"CGO_ENABLED=0", "GOPROXY=https://proxy.golang.org"}}}, audit.High, "linux/amd64", "GOPROXY=https://proxy.golang.org"},
		{"build with cgo", nil, []audit.BuildRecord{{Name: "linux/arm64", Env: []string{"CGO_ENABLED=1", "GOPROXY=off"}}}, audit.Medium, "linux/arm64", "CGO_ENABLED=1"},
		{"build settings not recorded", nil, []audit.BuildRecord{{Name: "rc provenance"}}, audit.Low, "rc provenance", "not recorded"},
		{"build unknown to the run", nil, nil, audit.Low, "build", "not recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var change func(string)
			if tc.change != nil {
				change = func(dir string) { tc.change(t, dir) }
			}
			r := release(t, change, tc.build)
			var hit *audit.Finding
			for i, f := range r.Findings {
				if f.Severity == tc.severity && strings.Contains(f.Subject, filepath.ToSlash(tc.subject)) && strings.Contains(f.Message, tc.message) {
					hit = &r.Findings[i]
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding about %q saying %q in %+v", tc.severity, tc.subject, tc.message, r.Findings)
			}
			err := r.Err()
			if (tc.severity == audit.High) != (err != nil) {
				t.Fatalf("Err() = %v for a %s finding", err, tc.severity)
			}
			if err != nil && (!errors.Is(err, audit.ErrHighSeverity) || !strings.Contains(err.Error(), hit.Subject)) {
				t.Fatalf("Err() = %v: want ErrHighSeverity naming %s", err, hit.Subject)
			}
		})
	}
}

func TestStickyWorldWritableDirectoryIsFine(t *testing.T) {
	r := release(t, func(dir string) {
		craftedImage(t, filepath.Join(dir, "artifacts/app_v1.0.0.oci.tar"), "65532:65532", goodLabels(), commitTime,
			entry{name: "tmp/", mode: 0o1777, typ: tar.TypeDir}, entry{name: "bin/sh", mode: 0o777, typ: tar.TypeSymlink, data: "busybox"})
	}, hermetic)
	if len(r.Findings) != 0 {
		t.Fatalf("/tmp (1777) and a symlink flagged: %+v", r.Findings)
	}
}

func TestPromotedImageKeepsCandidateVersion(t *testing.T) {
	dir := t.TempDir()
	goodImage(t, dir, "artifacts/app_v1.0.0.oci.tar", "v1.0.0-rc.1")
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Source: bundle.Source{Repository: testRepo, Commit: testCommit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version string
		clean   bool
	}{{"", false}, {"v1.0.0-rc.1", true}} {
		r, err := audit.Run(context.Background(), audit.Input{Dir: dir, Manifest: out.Manifest, CommitTime: commitTime, Build: hermetic, ImageVersion: tc.version})
		if err != nil {
			t.Fatal(err)
		}
		if (len(r.Findings) == 0) != tc.clean {
			t.Errorf("ImageVersion %q: findings %+v", tc.version, r.Findings)
		}
	}
}

func TestAuditNeedsManifest(t *testing.T) {
	if _, err := audit.Run(context.Background(), audit.Input{Dir: t.TempDir()}); err == nil {
		t.Fatal("audit without a manifest ran")
	}
}

func TestKeyMarkerAcrossChunks(t *testing.T) {
	// The armour line straddles the scanner's first read (64 KiB and 96 bytes).
	pad := strings.Repeat("x", 64<<10+96-8)
	r := release(t, func(dir string) {
		writeFile(t, filepath.Join(dir, "artifacts/big.txt"), []byte(pad+"\n"+privateKey))
	}, hermetic)
	if r.Count(audit.High) != 1 {
		t.Fatalf("split marker: %+v", r.Findings)
	}
}

func TestContainsPrivateKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"EC PEM", privateKey, true},
		{"PKCS#8 with CRLF", armour("PRIVATE KEY", "\r\n", "MIGH"), true},
		{"encrypted cosign key", armour("ENCRYPTED SIGSTORE PRIVATE KEY", "\n", "eyJr"), true},
		{"OpenSSH", armour("OPENSSH PRIVATE KEY", "\n", "b3Bl"), true},
		{"PGP", armour("PGP PRIVATE KEY BLOCK", "\n", "\nlQ"), true},
		{"PuTTY", strings.Join([]string{"PuTTY-User-Key-File-3", " ssh-ed25519\nEncryption: none\n"}, ":"), true},
		{"public key", armour("PUBLIC KEY", "\n", "MFkw"), false},
		// A Go binary's string table names the markers without forming an armour line.
		{"program text", "x509: EC PRIVATE KEY\x00-----BEGIN \x00PRIVATE KEY-----PRIVATE KEY BLOCK-----PuTTY-User-Key-File-", false},
		{"marker in prose", "the line -----BEGIN EC " + "PRIVATE KEY----- would start a key", false},
		{"putty mid-line", "see PuTTY-User-Key-File-3: docs\n", false},
	} {
		got, err := audit.ContainsPrivateKey(strings.NewReader(tc.text))
		if err != nil || got != tc.want {
			t.Errorf("%s: ContainsPrivateKey = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// The audit scans reliquary's own binaries when reliquary releases itself: this test binary
// holds the audit's markers and every key-parsing library reliquary links, and must pass.
func TestOwnBinaryIsNotAKey(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if found, err := audit.ContainsPrivateKey(f); err != nil || found {
		t.Fatalf("the test binary is flagged as a private key: %v %v", found, err)
	}
}

func TestNoSymlinkIsFollowed(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "id_rsa")
	writeFile(t, outside, []byte(privateKey))
	dir := t.TempDir()
	goodImage(t, dir, "artifacts/app_v1.0.0.oci.tar", "v1.0.0")
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: "v1.0.0", Source: bundle.Source{Repository: testRepo, Commit: testCommit}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("no symlinks")
	}
	r, err := audit.Run(context.Background(), audit.Input{Dir: dir, Manifest: out.Manifest, CommitTime: commitTime, Build: hermetic})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Fatalf("the audit read through a symlink: %+v", r.Findings)
	}
}
