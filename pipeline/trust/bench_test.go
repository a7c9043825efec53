package trust_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"testing"

	"github.com/sentientos/reliquary/pipeline/sign"
)

// BenchmarkVerifyDSSE measures one keyed DSSE bundle check (FACTS.md: about 120 µs).
func BenchmarkVerifyDSSE(b *testing.B) {
	k := newKey(b)
	tk := trustOf(b, k, newKey(b), newKey(b))
	bundle := mustDSSE(b, k)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tk.VerifyDSSE(bundle, sign.InTotoPayloadType); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMessage measures the manifest signature check.
func BenchmarkVerifyMessage(b *testing.B) {
	k := newKey(b)
	tk := trustOf(b, k)
	data := make([]byte, 300*1000) // a manifest of about 1000 artifacts
	sum := sha256.Sum256(data)
	bundle, err := sign.Message(data, k)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.VerifyMessage(bundle, sum); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSAVerifyBaseline is the floor under the two above: one bare P-256 signature
// check. The ratio shows what bundle parsing and sigstore-go add, on a machine whose load
// makes absolute numbers drift.
func BenchmarkECDSAVerifyBaseline(b *testing.B) {
	k := newKey(b)
	sum := sha256.Sum256([]byte("x"))
	sig, _, err := k.Keypair().SignData(b.Context(), []byte("x"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !ecdsa.VerifyASN1(k.PublicKey().ECDSA(), sum[:], sig) {
			b.Fatal("bad signature")
		}
	}
}
