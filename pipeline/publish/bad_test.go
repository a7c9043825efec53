package publish_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// blobData is where the distribution registry stores a blob's bytes.
func blobData(reg *registrytest.Registry, hexDigest string) string {
	return filepath.Join(reg.Storage, "docker/registry/v2/blobs/sha256", hexDigest[:2], hexDigest, "data")
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func trusted(k *keys.PrivateKey) []*keys.PublicKey { return []*keys.PublicKey{k.PublicKey()} }

// A bundle file or an image layer changed in the registry's storage: verify fails and
// names it.
func TestVerifyDetectsAChangedBlob(t *testing.T) {
	t.Parallel()
	const archive = "artifacts/app_v1.0.0_linux_amd64.tar.gz"
	for _, tc := range []struct {
		name string
		blob func(t *testing.T, dir string) string // hex digest of the blob to change
		want string
	}{
		{"bundle file", func(t *testing.T, dir string) string {
			data, _ := os.ReadFile(filepath.Join(dir, archive))
			sum := sha256.Sum256(data)
			return hex.EncodeToString(sum[:])
		}, archive},
		{"image layer", func(t *testing.T, dir string) string {
			return "" // filled in below from the registry
		}, "image-blob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := registrytest.Start(t)
			dir, key, index := release(t, "v1.0.0")
			ctx := context.Background()
			if _, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key}); err != nil {
				t.Fatal(err)
			}
			h := tc.blob(t, dir)
			if h == "" {
				idx, err := remote.Index(target(t, "oci://"+reg.Host+"/app").Repo.Digest(index.String()))
				if err != nil {
					t.Fatal(err)
				}
				im, _ := idx.IndexManifest()
				img, _ := idx.Image(im.Manifests[0].Digest)
				layers, _ := img.Layers()
				d, _ := layers[0].Digest()
				h = d.Hex
			}
			flipByte(t, blobData(reg, h))
			report, _, err := publish.Verify(ctx, target(t, "oci://"+reg.Host+"/app:v1.0.0"), publish.Remote{}, trusted(key))
			switch {
			case err != nil:
				if !errors.Is(err, publish.ErrRegistry) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), h) {
					t.Fatalf("verify: %v, want ErrRegistry naming %s and %s", err, tc.want, h)
				}
			case report.Verified:
				t.Fatal("verify passed with a changed blob")
			default:
				if f := report.Findings[0]; f.Problem != tc.want || !strings.Contains(f.Message, h) {
					t.Fatalf("findings %+v, want %s naming %s", report.Findings, tc.want, h)
				}
			}
		})
	}
}

// Tags moved to another validly signed release: the version tag alone to another image is
// caught by the bundle's subject; both tags moved to an older release is caught by the
// version the tag names, with or without --expect-version.
func TestVerifyDetectsMovedTags(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	ctx := context.Background()
	old, key, _ := release(t, "v1.0.0")
	cur, _, _ := releaseWith(t, "v1.1.0", key)
	repo := target(t, "oci://"+reg.Host+"/app").Repo
	for _, dir := range []string{old, cur} {
		if _, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	move := func(from, to string) {
		t.Helper()
		d, err := remote.Get(repo.Tag(from))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Tag(repo.Tag(to), d); err != nil {
			t.Fatal(err)
		}
	}
	move("v1.0.0", "v1.1.0")
	if _, _, err := publish.Verify(ctx, target(t, "oci://"+reg.Host+"/app:v1.1.0"), publish.Remote{}, trusted(key)); !errors.Is(err, publish.ErrRegistry) || !strings.Contains(err.Error(), "moved") {
		t.Fatalf("version tag moved: %v", err)
	}
	move("v1.0.0-bundle", "v1.1.0-bundle")
	for _, opts := range [][]verify.Option{nil, {verify.WithExpectedVersion("v1.1.0", "app")}} {
		report, _, err := publish.Verify(ctx, target(t, "oci://"+reg.Host+"/app:v1.1.0"), publish.Remote{}, trusted(key), opts...)
		if err != nil || report.Verified || report.Findings[0].Problem != verify.ProblemWrongRelease {
			t.Fatalf("both tags moved to v1.0.0 (%d options): err %v, report %+v", len(opts), err, report)
		}
	}
}

// The registry dies mid-push: the error names what was pushed; a rerun against the
// restarted registry completes.
func TestPublishSurvivesARegistryStoppedMidPush(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	dir, key, _ := release(t, "v1.0.0")
	ctx := context.Background()
	var once sync.Once
	stop := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		// The first look at the referrers fallback tag: the image is in, its signature not.
		if strings.Contains(r.URL.Path, "/manifests/sha256-") {
			once.Do(reg.Stop)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	_, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key, Remote: publish.Remote{Transport: stop}})
	if !errors.Is(err, publish.ErrPush) || !strings.Contains(err.Error(), "pushed before: image sha256:") {
		t.Fatalf("publish to a stopped registry: %v", err)
	}
	again := registrytest.StartAt(t, reg.Storage)
	res, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: target(t, "oci://"+again.Host+"/app"), Key: key})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if statuses(res)["image"] != "already there" {
		t.Errorf("rerun pushed the image again: %+v", res.Items)
	}
	if report, _, err := publish.Verify(ctx, target(t, "oci://"+again.Host+"/app:v1.0.0"), publish.Remote{}, trusted(key)); err != nil || !report.Verified {
		t.Fatalf("verify after the rerun: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Wrong credentials: an error that never shows the password.
func TestPublishWithWrongCredentials(t *testing.T) {
	t.Parallel()
	const password = "s3cret-registry-password"
	reg := registrytest.Start(t, registrytest.WithBasicAuth("ci", password))
	dir, key, _ := release(t, "v1.0.0")
	ctx := context.Background()
	tg := target(t, "oci://"+reg.Host+"/app")
	_, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: tg, Key: key, Remote: publish.Remote{Credentials: publish.Credentials{Username: "ci", Password: "wrong-" + password}}})
	if err == nil || errors.Is(err, publish.ErrGate) || strings.Contains(err.Error(), password) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: tg, Key: key, Remote: publish.Remote{Credentials: publish.Credentials{Username: "ci", Password: password}}}); err != nil {
		t.Fatalf("right password: %v", err)
	}
}

// A version is published once: another release under a version the registry has (another
// build, the same version) is refused before anything is pushed, at publish and replicate.
func TestVersionTagsAreNeverMoved(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	ctx := context.Background()
	first, key, index := release(t, "v1.0.0")
	second, _, _ := releaseWith(t, "v1.0.0", key)
	tg := target(t, "oci://"+reg.Host+"/app")
	if _, err := publish.Publish(ctx, publish.Input{Dir: first, Target: tg, Key: key}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	_, err := publish.Publish(ctx, publish.Input{Dir: second, Target: tg, Key: key, Remote: publish.Remote{Transport: rec}})
	if !errors.Is(err, publish.ErrTagTaken) || len(rec.writes) != 0 {
		t.Fatalf("publish of another v1.0.0: %v, writes %v", err, rec.writes)
	}
	if d, err := remote.Head(tg.Repo.Tag("v1.0.0")); err != nil || d.Digest != index {
		t.Fatalf("tag v1.0.0 now names %v (%v), want %s", d, err, index)
	}
	other := registrytest.Start(t)
	if _, err := publish.Publish(ctx, publish.Input{Dir: second, Target: target(t, "oci://"+other.Host+"/app"), Key: key}); err != nil {
		t.Fatal(err)
	}
	_, err = publish.Replicate(ctx, publish.ReplicateInput{From: target(t, "oci://"+reg.Host+"/app:v1.0.0"), To: target(t, "oci://"+other.Host+"/app"), Trusted: trusted(key)})
	if !errors.Is(err, publish.ErrTagTaken) {
		t.Fatalf("replicate over another v1.0.0: %v", err)
	}
}
