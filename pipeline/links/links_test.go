package links_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
)

var releaseTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKey is a key whose PKCS#8 PEM the test also keeps, so that a test can sign metadata
// with in-toto's own signer as a third party would.
type testKey struct {
	priv    *keys.PrivateKey
	pemPriv []byte
	pubFile string
}

func newKey(t testing.TB) testKey {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemPriv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "k.key"), pemPriv, 0o600); err != nil {
		t.Fatal(err)
	}
	priv, err := keys.Load(filepath.Join(dir, "k.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "k.pub")
	if err := os.WriteFile(pubFile, priv.PublicKey().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, pemPriv: pemPriv, pubFile: pubFile}
}

// newBundle makes a digested bundle with n artifacts and a stand-in provenance file (its
// content does not matter to the links).
func newBundle(t testing.TB, n int) (string, *bundle.Manifest) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := filepath.Join(dir, "artifacts", fmt.Sprintf("tool_%03d_linux_amd64.tar.gz", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("artifact %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := digest.Run(context.Background(), digest.Input{Dir: dir, Project: "tool", Version: "v1.0.0",
		Source: bundle.Source{Repository: "https://example.com/tool", Commit: strings.Repeat("a", 40)}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, bundle.ManifestSigFile, `{"stand-in":"manifest signature"}`)
	writeFile(t, dir, bundle.ProvenanceFile, `{"stand-in":"provenance"}`)
	return dir, out.Manifest
}

func writeFile(t testing.TB, dir, p, content string) {
	t.Helper()
	if err := bundle.WriteFile(dir, p, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func attestLinks(t testing.TB, dir string, m *bundle.Manifest, k testKey) *links.Written {
	t.Helper()
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	w, err := links.Write(dir, set, k.priv)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return w
}

func TestWriteThenVerify(t *testing.T) {
	k := newKey(t)
	dir, m := newBundle(t, 3)
	w := attestLinks(t, dir, m, k)
	kid := w.KeyID[:8]
	want := []string{"links/attest." + kid + ".link", "links/digest." + kid + ".link", "links/sign." + kid + ".link", "links/root.layout"}
	if strings.Join(w.Files, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %v, want %v", w.Files, want)
	}
	// The key id must be the one the stock CLI derives from the .pub file.
	var stock intoto.Key
	if err := stock.LoadKeyDefaults(k.pubFile); err != nil || stock.KeyID != w.KeyID {
		t.Fatalf("key id %s, in-toto derives %s (%v)", w.KeyID, stock.KeyID, err)
	}
	res, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()})
	if err != nil {
		t.Fatalf("Verify of a fresh release: %v", err)
	}
	if strings.Join(res.Steps, ",") != "digest,sign,attest" || res.LayoutKeyID != w.KeyID {
		t.Errorf("result %+v", res)
	}
	// Verifying twice, and after files written later, still passes.
	writeFile(t, dir, bundle.NotesFile, "# notes\n")
	writeFile(t, dir, "links/inspect-bundle.link", "{}") // what the stock verifier leaves
	if _, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()}); err != nil {
		t.Fatalf("Verify after later files: %v", err)
	}
	// The links are in-toto's own format: the library loads and verifies them.
	md, err := intoto.LoadMetadata(filepath.Join(dir, "links", "digest."+kid+".link"))
	if err != nil {
		t.Fatal(err)
	}
	if err := md.VerifySignature(stock); err != nil {
		t.Errorf("in-toto rejects our link signature: %v", err)
	}
	link := md.GetPayload().(intoto.Link)
	if len(link.Materials) != 3 || len(link.Products) != 2 || link.Products["manifest.json"]["sha256"] == "" {
		t.Errorf("digest link: materials %v products %v", link.Materials, link.Products)
	}
}

func TestVerifyRejects(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, dir string, k testKey)
		trusted func(k testKey) []*keys.PublicKey
		want    string
	}{
		{name: "artifact changed", want: "disallowed by rule [DISALLOW *]",
			tamper: func(t *testing.T, dir string, _ testKey) {
				writeFile(t, dir, "artifacts/tool_001_linux_amd64.tar.gz", "evil")
			}},
		{name: "manifest signature removed", want: "REQUIRE 'manifest.json.sigstore.json'",
			tamper: func(t *testing.T, dir string, _ testKey) {
				os.Remove(filepath.Join(dir, bundle.ManifestSigFile))
			}},
		{name: "file added", want: "[artifacts/extra.bin] disallowed",
			tamper: func(t *testing.T, dir string, _ testKey) { writeFile(t, dir, "artifacts/extra.bin", "x") }},
		{name: "manifest changed after signing", want: "[manifest.json] disallowed",
			tamper: func(t *testing.T, dir string, _ testKey) {
				f, _ := os.OpenFile(filepath.Join(dir, "manifest.json"), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString(" ")
				f.Close()
			}},
		{name: "provenance replaced", want: "[provenance.sigstore.json] disallowed",
			tamper: func(t *testing.T, dir string, _ testKey) { writeFile(t, dir, bundle.ProvenanceFile, "{}") }},
		{name: "link edited", want: "step 'sign' requires '1' link metadata file(s)",
			tamper: func(t *testing.T, dir string, k testKey) {
				editLink(t, dir, "sign", func(l *intoto.Link) { l.Products[bundle.ManifestSigFile]["sha256"] = strings.Repeat("0", 64) }, nil)
			}},
		{name: "link removed", want: "step 'attest' requires '1' link metadata file(s)",
			tamper: func(t *testing.T, dir string, k testKey) {
				m, _ := filepath.Glob(filepath.Join(dir, "links", "attest.*.link"))
				os.Remove(m[0])
			}},
		{name: "link signed by another key", want: "step 'digest' requires '1' link",
			tamper: func(t *testing.T, dir string, k testKey) {
				other := newKey(t)
				editLink(t, dir, "digest", func(*intoto.Link) {}, &other)
			}},
		{name: "products changed between steps", want: "Step 'sign', materials [manifest.json] disallowed",
			tamper: func(t *testing.T, dir string, k testKey) {
				// A validly signed link whose material differs from the previous step's product.
				editLink(t, dir, "sign", func(l *intoto.Link) { l.Materials["manifest.json"]["sha256"] = strings.Repeat("1", 64) }, &k)
			}},
		{name: "layout not signed by a trusted key", want: "not signed by any trusted key",
			trusted: func(testKey) []*keys.PublicKey { return []*keys.PublicKey{newKey(t).priv.PublicKey()} },
			tamper:  func(*testing.T, string, testKey) {}},
		{name: "layout edited", want: "root.layout: signature",
			tamper: func(t *testing.T, dir string, k testKey) {
				editJSON(t, filepath.Join(dir, bundle.LayoutFile), func(signed map[string]any) {
					signed["expires"] = "2099-01-01T00:00:00Z"
				})
			}},
		{name: "layout truncated", want: "root.layout",
			tamper: func(t *testing.T, dir string, k testKey) {
				data, _ := os.ReadFile(filepath.Join(dir, bundle.LayoutFile))
				os.WriteFile(filepath.Join(dir, bundle.LayoutFile), data[:len(data)/2], 0o644)
			}},
		{name: "symlink in bundle", want: "not a regular file",
			tamper: func(t *testing.T, dir string, k testKey) {
				os.Symlink("/etc/passwd", filepath.Join(dir, "artifacts", "link"))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKey(t)
			dir, m := newBundle(t, 3)
			attestLinks(t, dir, m, k)
			c.tamper(t, dir, k)
			trusted := []*keys.PublicKey{k.priv.PublicKey()}
			if c.trusted != nil {
				trusted = c.trusted(k)
			}
			_, err := links.Verify(dir, trusted)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestVerifyAcceptsAnyTrustedKey(t *testing.T) {
	k, old := newKey(t), newKey(t)
	dir, m := newBundle(t, 1)
	attestLinks(t, dir, m, k)
	if _, err := links.Verify(dir, []*keys.PublicKey{old.priv.PublicKey(), k.priv.PublicKey()}); err != nil {
		t.Fatalf("rotation: a release signed by one of two trusted keys: %v", err)
	}
}

func TestVerifyRejectsExpiredLayout(t *testing.T) {
	k := newKey(t)
	dir, m := newBundle(t, 1)
	set, err := links.BundleSet(dir, m, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := links.Write(dir, set, k.priv); err != nil {
		t.Fatal(err)
	}
	if _, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Verify = %v, want expired", err)
	}
}

// editLink rewrites a step's link; with signer set it re-signs it with in-toto's own signer
// (the link is then validly signed), otherwise it keeps the old, now invalid, signature.
func editLink(t *testing.T, dir, step string, f func(*intoto.Link), signer *testKey) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "links", step+".*.link"))
	if len(matches) != 1 {
		t.Fatalf("links for %s: %v", step, matches)
	}
	md, err := intoto.LoadMetadata(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	mb := md.(*intoto.Metablock)
	link := mb.Signed.(intoto.Link)
	f(&link)
	mb.Signed = link
	if signer != nil {
		var key intoto.Key
		if err := key.LoadKeyReaderDefaults(strings.NewReader(string(signer.pemPriv))); err != nil {
			t.Fatal(err)
		}
		mb.Signatures = nil
		if err := mb.Sign(key); err != nil {
			t.Fatal(err)
		}
		os.Remove(matches[0])
		matches[0] = filepath.Join(dir, "links", fmt.Sprintf(intoto.LinkNameFormat, step, key.KeyID))
	}
	if err := mb.Dump(matches[0]); err != nil {
		t.Fatal(err)
	}
}

func editJSON(t *testing.T, file string, f func(signed map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	f(doc["signed"].(map[string]any))
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefusesABrokenChain(t *testing.T) {
	k := newKey(t)
	dir, m := newBundle(t, 2)
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.Links {
		if set.Links[i].Step == links.StepAttest {
			set.Links[i].Materials["manifest.json"] = strings.Repeat("2", 64)
		}
	}
	_, err = links.Write(dir, set, k.priv)
	if err == nil || !strings.Contains(err.Error(), "do not chain") || !strings.Contains(err.Error(), "'attest'") {
		t.Fatalf("Write = %v, want a broken-chain error naming attest", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "links", "*")); len(m) != 0 {
		t.Errorf("a refused set left files: %v", m)
	}
}

func TestRecordValidates(t *testing.T) {
	good := links.Files{"a.txt": strings.Repeat("a", 64)}
	cases := []struct {
		name      string
		step      string
		materials links.Files
		opts      []links.RecordOption
		want      string
	}{
		{"step with a dot", "build.x", good, nil, "step name"},
		{"step with a glob", "b*", good, nil, "step name"},
		{"path escapes", "build", links.Files{"../etc/passwd": strings.Repeat("a", 64)}, nil, "climbs out"},
		{"absolute path", "build", links.Files{"/etc/passwd": strings.Repeat("a", 64)}, nil, "absolute"},
		{"short digest", "build", links.Files{"a": "abc"}, nil, "SHA-256"},
		{"secret in environment", "build", good, []links.RecordOption{links.WithEnvironment(map[string]string{"RELIQUARY_PASSWORD": "x"})}, "RELIQUARY_PASSWORD"},
		{"token in environment", "build", good, []links.RecordOption{links.WithEnvironment(map[string]string{"GITHUB_TOKEN": "x"})}, "GITHUB_TOKEN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := links.Record(c.step, c.materials, nil, c.opts...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Record = %v, want error containing %q", err, c.want)
			}
		})
	}
	l, err := links.Record("build", good, good, links.WithCommand("go", "build"), links.WithEnvironment(map[string]string{"GOOS": "linux"}))
	if err != nil || l.Command[1] != "build" || l.Environment["GOOS"] != "linux" {
		t.Fatalf("Record = %+v, %v", l, err)
	}
}

func TestLayoutValidates(t *testing.T) {
	exp := releaseTime
	cases := []struct {
		name   string
		layout links.Layout
		want   string
	}{
		{"no steps", links.Layout{Expires: exp}, "no steps"},
		{"no expiry", links.Layout{Steps: []links.Step{{Name: "a"}}}, "expires"},
		{"input from a later step", links.Layout{Expires: exp, Steps: []links.Step{
			{Name: "a", Inputs: []links.Input{links.FromStep("x", "b")}}, {Name: "b"}}}, "not an earlier step"},
		{"duplicate step", links.Layout{Expires: exp, Steps: []links.Step{{Name: "a"}, {Name: "a"}}}, "used twice"},
		{"pattern with space", links.Layout{Expires: exp, Steps: []links.Step{{Name: "a", Outputs: []string{"a b"}}}}, "pattern"},
		{"absolute pattern", links.Layout{Expires: exp, Steps: []links.Step{{Name: "a"}}, Unlinked: []string{"/etc/x"}}, "pattern"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.layout.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want %q", err, c.want)
			}
		})
	}
}

func TestPrecededByBuild(t *testing.T) {
	k := newKey(t)
	dir, m := newBundle(t, 3)
	build := links.Step{Name: "build", Command: []string{"go", "build"},
		Inputs: []links.Input{links.External("go.mod")}, Outputs: []string{"artifacts/*"}}
	record := func(products links.Files) links.Link {
		l, err := links.Record("build", links.Files{"go.mod": strings.Repeat("c", 64)}, products, links.WithCommand("go", "build"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	built := links.FromArtifacts(m.Artifacts)

	t.Run("artifacts as built", func(t *testing.T) {
		set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), links.Preceded([]links.Step{build}, []links.Link{record(built)}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := links.Write(dir, set, k.priv); err != nil {
			t.Fatal(err)
		}
		res, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()})
		if err != nil || strings.Join(res.Steps, ",") != "build,digest,sign,attest" {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
	})
	t.Run("artifact changed between build and digest", func(t *testing.T) {
		drifted := links.Files{}
		for p, d := range built {
			drifted[p] = d
		}
		drifted["artifacts/tool_001_linux_amd64.tar.gz"] = strings.Repeat("d", 64)
		set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), links.Preceded([]links.Step{build}, []links.Link{record(drifted)}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = links.Write(dir, set, k.priv)
		if err == nil || !strings.Contains(err.Error(), "Step 'digest', materials [artifacts/tool_001_linux_amd64.tar.gz] disallowed") {
			t.Fatalf("Write = %v, want digest's drifted material named", err)
		}
	})
}
