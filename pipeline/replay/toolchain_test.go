package replay_test

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/build/buildtest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/freeze"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/replay"
)

// pinned is the toolchain the test module's go.mod pins: older than the local Go.
const pinned = "go1.22.6"

// TestPinnedToolchainRelease releases a module whose go.mod says `toolchain go1.22.6`: the
// binaries are built by go1.22.6 (as their build info says), for darwin and windows too; the
// lock, the manifest and the provenance name it; a replay fetches and uses the same one and
// reproduces every artifact. With --toolchain local the local Go builds, and the lock
// records that choice. The toolchain comes from the module proxy once, into the default
// module cache, and is reused by later runs.
func TestPinnedToolchainRelease(t *testing.T) {
	buildtest.NeedToolchain(t, pinned)
	src := filepath.Join(t.TempDir(), "hello")
	buildtest.WriteFile(t, src, "go.mod", "module example.com/hello\n\ngo 1.22\n\ntoolchain "+pinned+"\n")
	buildtest.WriteFile(t, src, "main.go", "package main\n\nvar version = \"dev\"\n\nfunc main() { println(\"hello\", version) }\n")
	repo := gittest.NewIn(t, src)
	repo.Git("add", "-A")
	repo.Commit("feat: hello")
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	pubs := []*keys.PublicKey{k.PublicKey()}

	dist := filepath.Join(t.TempDir(), "dist")
	if _, err := release.Run(context.Background(), release.Input{Source: src, Out: dist, Version: "v1.0.0", Key: k,
		Platforms: []string{"linux/amd64", "darwin/arm64", "windows/amd64"}}); err != nil {
		t.Fatal(err)
	}
	checkRelease(t, dist, pinned, "GOTOOLCHAIN\":\""+pinned)
	lock := readLock(t, dist)
	if p := lock.Toolchain.Pinned; p == nil || p.Version != pinned || !strings.HasPrefix(p.Module, freeze.ToolchainModule+"@v0.0.1-"+pinned+".") || p.Sum == "" || lock.Toolchain.Mode != "" {
		t.Errorf("deps.lock.json toolchain: %+v", lock.Toolchain)
	}
	res, err := replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reproduced || len(res.Comparison.Reproduced) != 4 || res.Params.Toolchain != pinned {
		t.Fatalf("replay with the pinned toolchain: %s %+v", res.Summary(), res.Params)
	}

	local := localGoVersion(t)
	dist = filepath.Join(t.TempDir(), "dist-local")
	if _, err := release.Run(context.Background(), release.Input{Source: src, Out: dist, Version: "v1.0.0", Key: k, Platforms: []string{"linux/amd64"}},
		release.WithToolchain(freeze.ToolchainLocal)); err != nil {
		t.Fatal(err)
	}
	checkRelease(t, dist, local, "GOTOOLCHAIN\":\"local")
	if tc := readLock(t, dist).Toolchain; tc.Mode != freeze.ToolchainLocal || tc.Local != local || tc.Pinned != nil || tc.Directive != pinned {
		t.Errorf("--toolchain local is not recorded: %+v", tc)
	}
	res, err = replay.Run(context.Background(), replay.Input{Bundle: dist, Source: src, Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reproduced || res.Params.Toolchain != local {
		t.Fatalf("replay with the local toolchain: %s %+v", res.Summary(), res.Params)
	}
}

// checkRelease checks that the manifest, the provenance and every binary name the toolchain.
func checkRelease(t *testing.T, dist, toolchain, provenanceText string) {
	t.Helper()
	mf, err := os.ReadFile(filepath.Join(dist, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := bundle.ParseManifest(mf)
	if err != nil {
		t.Fatal(err)
	}
	if m.Toolchain != toolchain {
		t.Errorf("manifest toolchain %q, want %q", m.Toolchain, toolchain)
	}
	var sb struct{ DSSEEnvelope struct{ Payload string } }
	data, err := os.ReadFile(filepath.Join(dist, bundle.ProvenanceFile))
	if err == nil {
		err = json.Unmarshal(data, &sb)
	}
	stmt, _ := base64.StdEncoding.DecodeString(sb.DSSEEnvelope.Payload)
	if err != nil || !strings.Contains(string(stmt), "pkg:generic/go@"+toolchain+"\"") || !strings.Contains(string(stmt), provenanceText) {
		t.Errorf("the provenance does not name %s and %s: %v\n%s", toolchain, provenanceText, err, stmt)
	}
	bins := 0
	for _, a := range m.Artifacts {
		if a.Platform == "" || !strings.HasSuffix(a.Path, ".tar.gz") && !strings.HasSuffix(a.Path, ".zip") {
			continue
		}
		bin := extractBinary(t, filepath.Join(dist, filepath.FromSlash(a.Path)))
		info, err := buildinfo.ReadFile(bin)
		if err != nil || info.GoVersion != toolchain {
			t.Errorf("%s: built by %v (%v), want %s", a.Path, info, err, toolchain)
		}
		bins++
	}
	if bins == 0 {
		t.Error("no platform archive in the release")
	}
}

// extractBinary writes the archive's "hello" or "hello.exe" to a temporary file.
func extractBinary(t *testing.T, archive string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hello")
	var r io.Reader
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		f, err := zr.Open("hello.exe")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r = f
	} else {
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				t.Fatalf("%s: no hello binary: %v", archive, err)
			}
			if h.Name == "hello" {
				break
			}
		}
		r = tr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func readLock(t *testing.T, dist string) *freeze.Lock {
	t.Helper()
	l, err := freeze.ReadLock(filepath.Join(dist, bundle.DepsLockFile))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func localGoVersion(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
