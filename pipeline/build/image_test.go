package build_test

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/sentientos/reliquary/pipeline/archive"
)

// extractTar unpacks a plain tar (an OCI layout tarball) into a new directory.
func extractTar(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOCIImageLoads(t *testing.T) {
	o := sharedBuild(t)
	top, err := layout.ImageIndexFromPath(extractTar(t, artifactPath(o, "multi_v1.0.0.oci.tar")))
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest.String() != o.Image.Index {
		t.Fatalf("index.json %+v, output says index %s", tm.Manifests, o.Image.Index)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("go-containerregistry rejects the index: %v", err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want linux/amd64 and linux/arm64", len(im.Manifests))
	}
	for i, d := range im.Manifests {
		if d.Platform.String() != []string{"linux/amd64", "linux/arm64"}[i] {
			t.Errorf("manifest %d platform %s", i, d.Platform)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		l := cf.Config.Labels
		if cf.Config.User != "65532:65532" || cf.Config.Entrypoint[0] != "/usr/local/bin/alpha" ||
			l["org.opencontainers.image.revision"] != "abc123" || l["org.opencontainers.image.version"] != "v1.0.0" ||
			l["org.opencontainers.image.source"] != "https://example.com/multi" || l["org.opencontainers.image.created"] != "2024-05-06T07:08:09Z" ||
			!cf.Created.Time.Equal(commitTime) {
			t.Errorf("%s config: user %q entrypoint %v labels %v created %s", d.Platform, cf.Config.User, cf.Config.Entrypoint, l, cf.Created)
		}
		layers, _ := img.Layers()
		rc, _ := layers[0].Uncompressed()
		ms, err := archive.ListTar(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
			if m.Mode&(os.ModeSetuid|os.ModeSetgid) != 0 {
				t.Errorf("%s: setuid/setgid bit", m.Name)
			}
		}
		if got := strings.Join(names, " "); got != "usr/ usr/local/ usr/local/bin/ usr/local/bin/alpha usr/local/bin/beta" {
			t.Errorf("layer: %s", got)
		}
	}
}
