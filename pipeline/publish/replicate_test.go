package publish_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sentientos/reliquary/internal/registrytest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/publish"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// cutAfter lets n requests through, then fails every later one, as if the process had been
// killed after its n-th request.
type cutAfter struct {
	n    int64
	seen atomic.Int64
}

var errCut = errors.New("connection cut by the test")

func (c *cutAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if seen := c.seen.Add(1); c.n >= 0 && seen > c.n {
		return nil, errCut
	}
	return http.DefaultTransport.RoundTrip(r)
}

// recorder notes every request that writes to a registry.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut || req.Method == http.MethodPost || req.Method == http.MethodPatch {
		r.mu.Lock()
		r.writes = append(r.writes, req.URL.Path)
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// tagsLast fails unless the last writes were the tags, in this order: everything a tag
// names is in place before the tag.
func (r *recorder) tagsLast(t *testing.T, tags ...string) {
	t.Helper()
	n := len(r.writes)
	if n < len(tags) {
		t.Fatalf("writes %v", r.writes)
	}
	for i, tag := range tags {
		if got := r.writes[n-len(tags)+i]; got != tag {
			t.Fatalf("write %d of %d is %s, want %s (the tags last); writes:\n%s", n-len(tags)+i+1, n, got, tag, strings.Join(r.writes, "\n"))
		}
	}
}

// published starts a registry holding release v1.0.0 of app.
func published(t *testing.T) (*registrytest.Registry, *keys.PrivateKey) {
	t.Helper()
	reg := registrytest.Start(t)
	dir, key, _ := release(t, "v1.0.0")
	if _, err := publish.Publish(context.Background(), publish.Input{Dir: dir, Target: target(t, "oci://"+reg.Host+"/app"), Key: key}); err != nil {
		t.Fatal(err)
	}
	return reg, key
}

func replicate(t *testing.T, from, to string, key *keys.PrivateKey, transport http.RoundTripper) (*publish.Replication, error) {
	return publish.Replicate(context.Background(), publish.ReplicateInput{
		From: target(t, from), To: target(t, to), ToAuth: publish.Remote{Transport: transport},
		Trusted: []*keys.PublicKey{key.PublicKey()},
	})
}

func TestReplicateThenVerifyAtTheDestination(t *testing.T) {
	t.Parallel()
	a, key := published(t)
	b := registrytest.Start(t)
	from, to := "oci://"+a.Host+"/app:v1.0.0", "oci://"+b.Host+"/mirror/app"
	rec := &recorder{}
	rep, err := replicate(t, from, to, key, rec)
	if err != nil {
		t.Fatalf("replicate: %v", err)
	}
	rec.tagsLast(t, "/v2/mirror/app/manifests/v1.0.0", "/v2/mirror/app/manifests/v1.0.0-bundle")
	if !rep.Source.Verified || rep.Destination == nil || !rep.Destination.Verified {
		t.Fatalf("replicate: source %v, destination %+v", rep.Source.Verified, rep.Destination)
	}
	want := []string{"image", "signature", "provenance", "bundle", "tag v1.0.0", "tag v1.0.0-bundle"}
	if len(rep.Items) != len(want) {
		t.Fatalf("copied %+v, want %v", rep.Items, want)
	}
	seen := map[string]bool{}
	for _, it := range rep.Items {
		seen[it.What] = true
		if it.Status != "copied" {
			t.Errorf("first replication: %s %s", it.What, it.Status)
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("nothing reported for %s: %+v", w, rep.Items)
		}
	}
	again, err := replicate(t, from, to, key, nil)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	for _, it := range again.Items {
		if it.Status != "already there" {
			t.Errorf("rerun: %s %s, want already there", it.What, it.Status)
		}
	}
	report, _, err := publish.Verify(context.Background(), target(t, "oci://"+b.Host+"/mirror/app:v1.0.0"), publish.Remote{},
		[]*keys.PublicKey{key.PublicKey()}, verify.WithExpectedVersion("v1.0.0", "app"))
	if err != nil || !report.Verified {
		t.Fatalf("verify at the destination: %v %+v", err, report)
	}
}

// A replication cut off after any number of requests leaves nothing at the destination that
// verifies, and a rerun completes it.
func TestInterruptedReplicationNeverVerifies(t *testing.T) {
	t.Parallel()
	a, key := published(t)
	b := registrytest.Start(t)
	from := "oci://" + a.Host + "/app:v1.0.0"
	count := &cutAfter{n: -1}
	if _, err := replicate(t, from, "oci://"+b.Host+"/count", key, count); err != nil {
		t.Fatal(err)
	}
	total := count.seen.Load()
	if total < 10 {
		t.Fatalf("a replication took %d requests; the test cannot cut it", total)
	}
	for n := int64(0); n < total; n += max(1, total/6) {
		to := fmt.Sprintf("oci://%s/cut%d/app", b.Host, n)
		cut, err := replicate(t, from, to, key, &cutAfter{n: n})
		if err == nil {
			continue // this run needed fewer requests (connections reused) and completed
		}
		report, _, err := publish.Verify(context.Background(), target(t, to+":v1.0.0"), publish.Remote{}, []*keys.PublicKey{key.PublicKey()})
		if err == nil && report.Verified && !tagged(cut, "tag v1.0.0-bundle") {
			t.Fatalf("cut after %d of %d requests, before the last tag: the partial copy verifies", n, total)
		}
		if rep, err := replicate(t, from, to, key, nil); err != nil || !rep.Destination.Verified {
			t.Fatalf("rerun after a cut at %d: %v %+v", n, err, rep.Destination.Findings)
		}
	}
}

// tagged reports whether a (cut) replication got as far as pushing tag what.
func tagged(r *publish.Replication, what string) bool {
	for _, it := range r.Items {
		if it.What == what {
			return true
		}
	}
	return false
}
