package replay

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
)

const seedProvenance = `{"_type":"https://in-toto.io/Statement/v1",
"subject":[{"name":"artifacts/app_v1.0.0_linux_amd64.tar.gz","digest":{"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}],
"predicateType":"https://slsa.dev/provenance/v1",
"predicate":{"buildDefinition":{"buildType":"https://reliquary.dev/build/v1",
"externalParameters":{"version":"v1.0.0","source":{"commit":"0123456789abcdef0123456789abcdef01234567"},"platforms":["linux/amd64"]}},
"runDetails":{"builder":{"id":"https://reliquary.dev/builder/host"},"metadata":{"startedOn":"2025-03-01T12:00:00Z"}}}}`

// FuzzParamsFrom: replay reads its build parameters from a signed provenance statement.
// Whatever statement the release key signed, reading it never panics, and what it returns
// has a version, a commit and platforms; bytes that are not a bundle signed by a trusted key
// are refused.
func FuzzParamsFrom(f *testing.F) {
	key, err := keys.Generate()
	if err != nil {
		f.Fatal(err)
	}
	pubs := []*keys.PublicKey{key.PublicKey()}
	signed, err := sign.DSSE([]byte(seedProvenance), sign.InTotoPayloadType, key)
	if err != nil {
		f.Fatal(err)
	}
	if p, err := paramsFrom(signed, pubs); err != nil || p.Version != "v1.0.0" || p.Platforms[0] != "linux/amd64" {
		f.Fatalf("the seed provenance does not read back: %+v %v", p, err)
	}
	f.Add([]byte(seedProvenance))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicate":{"runDetails":{"metadata":{"startedOn":"x"}}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, stmt []byte) {
		if _, err := paramsFrom(stmt, pubs); err == nil {
			t.Fatal("an unsigned statement was accepted")
		}
		signed, err := sign.DSSE(stmt, sign.InTotoPayloadType, key)
		if err != nil {
			return // not JSON: the signer refuses it
		}
		p, err := paramsFrom(signed, pubs)
		if err != nil {
			return
		}
		if p.Version == "" || p.Commit == "" || len(p.Platforms) == 0 {
			t.Fatalf("accepted parameters without version, commit or platforms: %+v", p)
		}
	})
}
