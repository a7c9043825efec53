package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/image"
)

var commitTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeBinaries writes one small file per name for each platform (content differs per
// platform, as real binaries do) and returns the image platforms.
func fakeBinaries(t *testing.T, platforms []string, names ...string) []image.Platform {
	t.Helper()
	dir := t.TempDir()
	var out []image.Platform
	for _, p := range platforms {
		ip := image.Platform{Platform: p}
		for _, n := range names {
			f := filepath.Join(dir, strings.ReplaceAll(p, "/", "_")+"_"+n)
			if err := os.WriteFile(f, []byte("binary "+n+" for "+p), 0o700); err != nil {
				t.Fatal(err)
			}
			ip.Binaries = append(ip.Binaries, image.Binary{Name: n, Path: f})
		}
		out = append(out, ip)
	}
	return out
}

func input(t *testing.T, out string) image.Input {
	return image.Input{
		Platforms:  fakeBinaries(t, []string{"linux/arm64", "linux/amd64"}, "tool", "helper"),
		Entrypoint: "tool",
		Time:       commitTime,
		Source:     "https://example.com/tool",
		Revision:   "0123456789abcdef0123456789abcdef01234567",
		Version:    "v1.2.3",
		Out:        out,
	}
}

// load extracts a layout tarball and opens it with go-containerregistry's layout reader.
func load(t *testing.T, file string) v1.ImageIndex {
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
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.2.3" {
		t.Fatalf("index.json: %+v", im.Manifests)
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tool_v1.2.3.oci.tar")
	res, err := image.Build(context.Background(), input(t, out))
	if err != nil {
		t.Fatal(err)
	}
	idx := load(t, out)
	if err := validate.Index(idx); err != nil {
		t.Fatalf("go-containerregistry rejects the index: %v", err)
	}
	d, _ := idx.Digest()
	if d.String() != res.Index {
		t.Errorf("index digest %s, output says %s", d, res.Index)
	}
	im, _ := idx.IndexManifest()
	if im.MediaType != "application/vnd.oci.image.index.v1+json" || len(im.Manifests) != 2 {
		t.Fatalf("index: %+v", im)
	}
	if im.Annotations[image.LabelRevision] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("index annotations %v", im.Annotations)
	}
	for i, desc := range im.Manifests {
		want := []string{"amd64", "arm64"}[i]
		if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != want {
			t.Errorf("manifest %d platform %+v, want linux/%s", i, desc.Platform, want)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, want)
	}
}

func checkImage(t *testing.T, img v1.Image, arch string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.Architecture != arch || cf.OS != "linux" || !cf.Created.Time.Equal(commitTime) {
		t.Errorf("config: %s/%s created %s", cf.OS, cf.Architecture, cf.Created)
	}
	if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/tool" {
		t.Errorf("user %q entrypoint %v", c.User, c.Entrypoint)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   "https://example.com/tool",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.created":  "2024-03-04T05:06:07Z",
	}
	for k, v := range wantLabels {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(commitTime) {
		t.Errorf("history %+v", cf.History)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ms, err := archive.ListTar(rc)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
		if m.Mode&(os.ModeSetuid|os.ModeSetgid) != 0 || m.UID != 0 || m.GID != 0 || !m.ModTime.Equal(commitTime) {
			t.Errorf("layer entry %s: mode %v uid %d gid %d mtime %s", m.Name, m.Mode, m.UID, m.GID, m.ModTime)
		}
		if !m.Mode.IsDir() && m.Mode.Perm() != 0o755 {
			t.Errorf("layer entry %s: mode %v", m.Name, m.Mode)
		}
	}
	if got := strings.Join(names, " "); got != "usr/ usr/local/ usr/local/bin/ usr/local/bin/helper usr/local/bin/tool" {
		t.Errorf("layer entries: %s", got)
	}
}

func TestImageReproducible(t *testing.T) {
	dir := t.TempDir()
	in := input(t, filepath.Join(dir, "a.oci.tar"))
	a, err := image.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// Same content, fresh files with other modes and times, platforms in another order.
	in2 := input(t, filepath.Join(dir, "b.oci.tar"))
	in2.Platforms[0], in2.Platforms[1] = in2.Platforms[1], in2.Platforms[0]
	for _, p := range in2.Platforms {
		for _, b := range p.Binaries {
			os.Chmod(b.Path, 0o755)
			os.Chtimes(b.Path, time.Unix(1, 0), time.Unix(1, 0))
		}
	}
	b, err := image.Build(context.Background(), in2)
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := os.ReadFile(in.Out)
	fb, _ := os.ReadFile(in2.Out)
	if a.Index != b.Index || !bytes.Equal(fa, fb) {
		t.Errorf("rebuild differs: %s vs %s", a.Index, b.Index)
	}
	in.Time = commitTime.Add(time.Second)
	in.Out = filepath.Join(dir, "c.oci.tar")
	c, err := image.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Index == a.Index {
		t.Error("the commit time does not reach the image digest")
	}
}

func TestBaseImage(t *testing.T) {
	dir := t.TempDir()
	baseIn := input(t, filepath.Join(dir, "base.oci.tar"))
	baseIn.Platforms = fakeBinaries(t, []string{"linux/amd64"}, "busybox")
	baseIn.Entrypoint = "busybox"
	base, err := image.Build(context.Background(), baseIn)
	if err != nil {
		t.Fatal(err)
	}
	in := input(t, filepath.Join(dir, "app.oci.tar"))
	in.Platforms = in.Platforms[1:] // linux/amd64 only
	in.Base = baseIn.Out
	res, err := image.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifests[0].Base != base.Manifests[0].Digest {
		t.Errorf("base digest %q, want %q", res.Manifests[0].Base, base.Manifests[0].Digest)
	}
	idx := load(t, in.Out)
	im, _ := idx.IndexManifest()
	img, _ := idx.Image(im.Manifests[0].Digest)
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Errorf("%d layers, want the base's and ours", len(layers))
	}
	m, _ := img.Manifest()
	if m.Annotations[image.LabelBaseDig] != base.Manifests[0].Digest {
		t.Errorf("manifest annotations %v", m.Annotations)
	}
	// The base has no arm64 image.
	in.Platforms = input(t, "").Platforms
	in.Out = filepath.Join(dir, "both.oci.tar")
	if _, err := image.Build(context.Background(), in); err == nil || !strings.Contains(err.Error(), "no image for the platform linux/arm64") {
		t.Errorf("missing base platform: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	os.WriteFile(evil, buf.Bytes(), 0o644)
	link := filepath.Join(dir, "link.tar")
	buf.Reset()
	tw = tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "blobs", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
	tw.Close()
	os.WriteFile(link, buf.Bytes(), 0o644)
	for _, tc := range []struct {
		name   string
		modify func(*image.Input)
		want   string
	}{
		{"darwin", func(in *image.Input) { in.Platforms[0].Platform = "darwin/arm64" }, "linux only"},
		{"entrypoint", func(in *image.Input) { in.Entrypoint = "nope" }, "entrypoint \"nope\""},
		{"no platforms", func(in *image.Input) { in.Platforms = nil }, "no linux platform"},
		{"base escapes", func(in *image.Input) { in.Base = evil }, "climbs out"},
		{"base symlink", func(in *image.Input) { in.Base = link }, "not allowed"},
		{"base missing", func(in *image.Input) { in.Base = filepath.Join(dir, "none.tar") }, "no such file"},
		{"not a layout", func(in *image.Input) { in.Base = writeTar(t, dir) }, "not an OCI image layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, filepath.Join(dir, tc.name+".oci.tar"))
			tc.modify(&in)
			_, err := image.Build(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(in.Out); err == nil {
				t.Error("an image was written despite the error")
			}
		})
	}
}

func writeTar(t *testing.T, dir string) string {
	p := filepath.Join(dir, "plain.tar")
	var buf bytes.Buffer
	if err := archive.WriteTar(&buf, []archive.Entry{{Name: "hello.txt", Data: []byte("hi")}}, commitTime); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, buf.Bytes(), 0o644)
	return p
}
