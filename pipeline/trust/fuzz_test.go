package trust_test

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// FuzzVerify feeds arbitrary bytes to both verifiers: they must never panic, and must return
// either success or an error from the package's tree.
func FuzzVerify(f *testing.F) {
	k := newKey(f)
	tk := trustOf(f, k)
	data := []byte("manifest")
	msg, err := sign.Message(data, k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add(mustDSSE(f, k))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQ=="}]}}`))
	f.Add([]byte(`null`))
	sum := sha256.Sum256(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := tk.VerifyMessage(b, sum); err != nil && !errors.Is(err, trust.ErrVerify) {
			t.Fatalf("VerifyMessage error outside the tree: %v", err)
		}
		if _, _, err := tk.VerifyDSSE(b, sign.InTotoPayloadType); err != nil && !errors.Is(err, trust.ErrVerify) {
			t.Fatalf("VerifyDSSE error outside the tree: %v", err)
		}
	})
}
