package verify_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// TestVerificationJSONIsRefused: a gate report in the bundle is unsigned, so it is refused
// whatever it says, with a key or digests only: `{}`, an edited report, even a genuine one.
func TestVerificationJSONIsRefused(t *testing.T) {
	key := newKey(t)
	dir := signedBundle(t, key)
	genuine, err := run(t, dir, trusting(t, key)).JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, content string }{
		{"empty object", "{}"},
		{"edited", `{"verified": true, "authenticated": true, "findings": []}`},
		{"genuine", string(genuine)},
	} {
		for _, mode := range []struct {
			name string
			opt  verify.Option
		}{{"with a key", trusting(t, key)}, {"digests only", verify.WithDigestsOnlyUnsafe()}} {
			t.Run(tc.name+", "+mode.name, func(t *testing.T) {
				write(t, dir, bundle.VerificationFile, tc.content)
				r := run(t, dir, mode.opt)
				if r.Verified {
					t.Fatal("a bundle holding verification.json verified")
				}
				for _, f := range r.Findings {
					if f.Status == verify.Fail && f.File == bundle.VerificationFile && f.Problem == verify.ProblemUnexpected {
						return
					}
				}
				t.Fatalf("no failure naming %s: %+v", bundle.VerificationFile, r.Findings)
			})
		}
	}
}
