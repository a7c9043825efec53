package publish_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/internal/testbundle"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
)

const imagePath = "artifacts/app_v1.0.0.oci.tar"

// release makes a signed release v1.0.0 with provenance and a real two-platform OCI layout.
func release(t testing.TB, version string) (dir string, key *keys.PrivateKey, index v1.Hash) {
	t.Helper()
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return releaseWith(t, version, key)
}

func releaseWith(t testing.TB, version string, key *keys.PrivateKey) (string, *keys.PrivateKey, v1.Hash) {
	t.Helper()
	layoutTar, index := registrytest.LayoutTar(t)
	dir := t.TempDir()
	testbundle.Write(t, dir, testbundle.Files{
		imagePath: string(layoutTar),
		"artifacts/app_v1.0.0_linux_amd64.tar.gz": "linux archive " + version,
		"deps.lock.json": `{"schema":"x"}`,
	})
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "app", Version: version,
		Source:       bundle.Source{Repository: "https://example.com/app", Commit: "0123456789abcdef0123456789abcdef01234567"},
		Attestations: []string{bundle.AttestProvenance}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Manifest(dir, "release", key); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := attest.Write(dir, &attest.Input{
		Version: version, Source: attest.Source{Repository: "https://example.com/app", Commit: "0123456789abcdef0123456789abcdef01234567"},
		Builder: attest.Builder{ID: attest.BuilderHost, Version: map[string]string{"reliquary": "test"}}, InvocationID: "test-1",
		StartedOn: at, FinishedOn: at, Artifacts: out.Manifest.Artifacts,
	}, key); err != nil {
		t.Fatal(err)
	}
	return dir, key, index
}

func target(t testing.TB, s string) publish.Target {
	t.Helper()
	tg, err := publish.ParseTarget(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func statuses(r *publish.Result) map[string]string {
	m := map[string]string{}
	for _, p := range r.Items {
		m[p.What] = p.Status
	}
	return m
}

func TestPublishThenVerify(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	dir, key, index := release(t, "v1.0.0")
	ctx := context.Background()
	tg := target(t, "oci://"+reg.Host+"/team/app")
	rec := &recorder{}
	res, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: tg, Key: key, Remote: publish.Remote{Transport: rec}})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	rec.tagsLast(t, "/v2/team/app/manifests/v1.0.0", "/v2/team/app/manifests/v1.0.0-bundle")
	if res.Image != index.String() {
		t.Fatalf("pushed image %s, the layout's index is %s", res.Image, index)
	}
	want := map[string]string{"image": "pushed", "signature": "pushed", "provenance": "pushed", "bundle": "pushed", "tag v1.0.0": "pushed", "tag v1.0.0-bundle": "pushed"}
	if got := statuses(res); !equal(got, want) {
		t.Fatalf("first publish: %v, want %v", got, want)
	}
	// A rerun pushes nothing new: no second signature, same bundle digest.
	again, err := publish.Publish(ctx, publish.Input{Dir: dir, Target: tg, Key: key})
	if err != nil {
		t.Fatalf("republish: %v", err)
	}
	for what, st := range statuses(again) {
		if st != "already there" {
			t.Errorf("republish: %s %s, want already there", what, st)
		}
	}
	if again.Bundle != res.Bundle {
		t.Errorf("republish: bundle %s, first %s", again.Bundle, res.Bundle)
	}
	report, loc, err := publish.Verify(ctx, target(t, "oci://"+reg.Host+"/team/app:v1.0.0"), publish.Remote{},
		[]*keys.PublicKey{key.PublicKey()}, verify.WithExpectedVersion("v1.0.0", "app"))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !report.Verified || loc.Image.Digest != index {
		t.Fatalf("verify from the registry: verified=%v image=%s findings=%+v", report.Verified, loc.Image.Digest, report.Findings)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPublishRefusesWhatFailsTheGate(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	dir, key, _ := release(t, "v1.0.0")
	if err := os.WriteFile(filepath.Join(dir, "artifacts/app_v1.0.0_linux_amd64.tar.gz"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := publish.Publish(context.Background(), publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key})
	if !errors.Is(err, publish.ErrGate) {
		t.Fatalf("publish of a changed release: %v, want ErrGate", err)
	}
	other, _ := keys.Generate()
	dir2, _, _ := release(t, "v1.0.0")
	_, err = publish.Publish(context.Background(), publish.Input{Dir: dir2, Target: target(t, "oci://"+reg.Host+"/app"), Key: other})
	if !errors.Is(err, publish.ErrGate) {
		t.Fatalf("publish signed by another key: %v, want ErrGate", err)
	}
}
