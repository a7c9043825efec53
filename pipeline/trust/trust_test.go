package trust_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

const statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.tar.gz","digest":{"sha256":"` +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" +
	`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x"}}}`

func newKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func trustOf(t testing.TB, ks ...*keys.PrivateKey) *trust.Keys {
	t.Helper()
	pubs := make([]*keys.PublicKey, len(ks))
	for i, k := range ks {
		pubs[i] = k.PublicKey()
	}
	tk, err := trust.NewKeys(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// edit decodes a bundle into generic JSON, applies f, and re-encodes it.
func edit(t *testing.T, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

// flip changes one byte inside a base64 field.
func flip(s string) string {
	raw, _ := base64.StdEncoding.DecodeString(s)
	raw[len(raw)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(raw)
}

func TestVerifyMessage(t *testing.T) {
	signer, other := newKey(t), newKey(t)
	data := []byte(`{"artifacts":[]}`)
	sum := sha256.Sum256(data)
	good, err := sign.Message(data, signer)
	if err != nil {
		t.Fatal(err)
	}
	otherSum := sha256.Sum256([]byte("another manifest"))
	otherBundle, err := sign.Message([]byte("another manifest"), signer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trusted *trust.Keys
		bundle  []byte
		digest  [32]byte
		wantErr error
	}{
		{"good", trustOf(t, signer), good, sum, nil},
		{"rotation set", trustOf(t, other, signer), good, sum, nil},
		{"wrong key", trustOf(t, other), good, sum, trust.ErrNoMatchingKey},
		{"bundle of another artifact", trustOf(t, signer), otherBundle, sum, trust.ErrDigestMismatch},
		{"digest field rewritten to match", trustOf(t, signer), edit(t, otherBundle, func(m map[string]any) {
			obj(m, "messageSignature", "messageDigest")["digest"] = base64.StdEncoding.EncodeToString(sum[:])
		}), sum, trust.ErrBadSignature},
		{"tampered signature", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			ms := obj(m, "messageSignature")
			ms["signature"] = flip(ms["signature"].(string))
		}), sum, trust.ErrBadSignature},
		{"no hint, right key among several", trustOf(t, other, signer), edit(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial", "publicKey")["hint"] = ""
		}), sum, nil},
		{"no hint, wrong key", trustOf(t, other), edit(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial", "publicKey")["hint"] = ""
		}), sum, trust.ErrBadSignature},
		{"hint names another trusted key", trustOf(t, other, signer), edit(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial", "publicKey")["hint"] = other.PublicKey().Hint()
		}), sum, trust.ErrBadSignature},
		{"truncated", trustOf(t, signer), good[:len(good)/2], sum, trust.ErrMalformedBundle},
		{"empty", trustOf(t, signer), nil, sum, trust.ErrMalformedBundle},
		{"media type", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			m["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.2+json"
		}), sum, trust.ErrMediaType},
		{"unknown field", trustOf(t, signer), edit(t, good, func(m map[string]any) { m["extra"] = 1 }), sum, trust.ErrMalformedBundle},
		{"certificate instead of key", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			m["verificationMaterial"] = map[string]any{"certificate": map[string]any{"rawBytes": "AAAA"}}
		}), sum, trust.ErrMalformedBundle},
		{"DSSE where message expected", trustOf(t, signer), mustDSSE(t, signer), sum, trust.ErrMalformedBundle},
		{"too large", trustOf(t, signer), make([]byte, trust.MaxBundleSize+1), sum, trust.ErrTooLarge},
		{"other digest given", trustOf(t, signer), good, otherSum, trust.ErrDigestMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := tc.trusted.VerifyMessage(tc.bundle, tc.digest)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if fp != signer.PublicKey().Fingerprint() {
					t.Errorf("fingerprint = %s, want the signer's", fp)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, trust.ErrVerify) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if fp != "" {
				t.Error("fingerprint returned with an error")
			}
		})
	}
}

func mustDSSE(t testing.TB, k *keys.PrivateKey) []byte {
	t.Helper()
	b, err := sign.DSSE([]byte(statement), sign.InTotoPayloadType, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyDSSE(t *testing.T) {
	signer, other := newKey(t), newKey(t)
	good := mustDSSE(t, signer)
	sigs := func(m map[string]any) []any { return obj(m, "dsseEnvelope")["signatures"].([]any) }
	msg, _ := sign.Message([]byte("x"), signer)
	for _, tc := range []struct {
		name     string
		trusted  *trust.Keys
		bundle   []byte
		wantType string
		wantErr  error
	}{
		{"good", trustOf(t, signer), good, sign.InTotoPayloadType, nil},
		{"rotation set", trustOf(t, signer, other), good, sign.InTotoPayloadType, nil},
		{"wrong key", trustOf(t, other), good, sign.InTotoPayloadType, trust.ErrNoMatchingKey},
		{"two signatures", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"] = append(sigs(m), sigs(m)[0])
		}), sign.InTotoPayloadType, trust.ErrSignatureCount},
		{"no signature", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"] = []any{}
		}), sign.InTotoPayloadType, trust.ErrSignatureCount},
		{"payload type swapped", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["payloadType"] = "application/json"
		}), sign.InTotoPayloadType, trust.ErrPayloadType},
		{"payload type swapped, caller asks for it", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["payloadType"] = "application/json"
		}), "application/json", trust.ErrVerify},
		{"other payload type wanted", trustOf(t, signer), good, "application/vnd.example+json", trust.ErrPayloadType},
		{"tampered payload", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			env := obj(m, "dsseEnvelope")
			p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			p = []byte(strings.Replace(string(p), "a.tar.gz", "b.tar.gz", 1))
			env["payload"] = base64.StdEncoding.EncodeToString(p)
		}), sign.InTotoPayloadType, trust.ErrBadSignature},
		{"tampered signature", trustOf(t, signer), edit(t, good, func(m map[string]any) {
			s := sigs(m)[0].(map[string]any)
			s["sig"] = flip(s["sig"].(string))
		}), sign.InTotoPayloadType, trust.ErrBadSignature},
		{"truncated", trustOf(t, signer), good[:len(good)-10], sign.InTotoPayloadType, trust.ErrMalformedBundle},
		{"message where DSSE expected", trustOf(t, signer), msg, sign.InTotoPayloadType, trust.ErrMalformedBundle},
		{"too large", trustOf(t, signer), make([]byte, trust.MaxBundleSize+1), sign.InTotoPayloadType, trust.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload, fp, err := tc.trusted.VerifyDSSE(tc.bundle, tc.wantType)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if string(payload) != statement {
					t.Errorf("payload = %s, want the signed statement", payload)
				}
				if fp != signer.PublicKey().Fingerprint() {
					t.Error("wrong fingerprint")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, trust.ErrVerify) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if payload != nil || fp != "" {
				t.Error("payload or fingerprint returned with an error")
			}
		})
	}
}

func TestLoadKeys(t *testing.T) {
	a, b := newKey(t), newKey(t)
	dir := t.TempDir()
	var paths []string
	for i, k := range []*keys.PrivateKey{a, b, a} {
		p := filepath.Join(dir, string(rune('a'+i))+".pub")
		if err := os.WriteFile(p, k.PublicKey().PEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	tk, err := trust.LoadKeys(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Len() != 2 {
		t.Errorf("Len = %d, want 2 (duplicates merged)", tk.Len())
	}
	fps := tk.Fingerprints()
	if len(fps) != 2 || fps[0] > fps[1] {
		t.Errorf("Fingerprints not sorted: %v", fps)
	}
	if _, err := trust.LoadKeys(); err == nil {
		t.Error("LoadKeys with no keys succeeded")
	}
	bad := filepath.Join(dir, "bad.pub")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.LoadKeys(paths[0], bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad key file: err = %v, want one naming %s", err, bad)
	}
}

// The message for an untrusted key names both sides by fingerprint, the form release notes,
// keygen and reports use, so a user can tell which key signed.
func TestNoMatchingKeyMessage(t *testing.T) {
	signer, other := newKey(t), newKey(t)
	_, _, err := trustOf(t, other).VerifyDSSE(mustDSSE(t, signer), sign.InTotoPayloadType)
	if !errors.Is(err, trust.ErrNoMatchingKey) {
		t.Fatalf("err = %v", err)
	}
	for _, fp := range []string{signer.PublicKey().Fingerprint(), other.PublicKey().Fingerprint()} {
		if !strings.Contains(err.Error(), "sha256:"+fp) {
			t.Errorf("message %q does not name sha256:%s", err, fp)
		}
	}
}
