package links_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/links"
	"github.com/sentientos/reliquary/pipeline/trail"
)

var (
	digestCommand = []string{"/bin/reliquary", "digest", "/bundle", "--version", "v1.0.0", "--record", "/records/digest.json"}
	signCommand   = []string{"/bin/reliquary", "sign", "/bundle", "--key", "/keys/release.key", "--record", "/records/sign.json"}
	attestCommand = []string{"/bin/reliquary", "attest", "/bundle", "--key", "/keys/release.key", "--stage-record", "/records/digest.json"}
)

// signedStagedBundle is stagedBundle signed (a stand-in signature: links check digests, not
// signatures), with the digest and sign records those stages would leave.
func signedStagedBundle(t *testing.T) (string, *bundle.Manifest, []trail.Record, trail.Record, trail.Record) {
	t.Helper()
	dir, m, recs := stagedBundle(t)
	writeFile(t, dir, bundle.ManifestSigFile, `{"stand-in":"signature"}`)
	writeFile(t, dir, "keys/release.pub", "stand-in public key")
	digestRec := trail.Finished("digest", releaseTime, releaseTime, trail.DigestStep(digestCommand, dir, m.Artifacts))
	signRec := trail.Finished("sign", releaseTime, releaseTime, trail.SignStep(signCommand, dir, "keys/release.pub"))
	return dir, m, recs, digestRec, signRec
}

func TestRanStagesCarryTheirCommands(t *testing.T) {
	k := newKey(t)
	dir, m, recs, digestRec, signRec := signedStagedBundle(t)
	if err := links.CheckRecorded(dir, m, append(recs, signRec, digestRec)); err != nil {
		t.Fatal(err)
	}
	steps, recorded, err := links.Recorded(recs)
	if err != nil {
		t.Fatal(err)
	}
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), links.Preceded(steps, recorded),
		links.Ran(signRec, digestRec), links.AttestCommand(attestCommand...))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"freeze": recs[0].Command, "build": recs[1].Command, "digest": digestCommand, "sign": signCommand, "attest": attestCommand}
	for i, l := range set.Links {
		if !reflect.DeepEqual(l.Command, want[l.Step]) || !reflect.DeepEqual(set.Layout.Steps[i].Command, want[l.Step]) {
			t.Errorf("%s: link command %q, layout command %q, want %q", l.Step, l.Command, set.Layout.Steps[i].Command, want[l.Step])
		}
		// No "recorded-by" (every stage was recorded as it ran); the build's notes (its
		// cache hits) are its byproducts.
		wantBy := map[string]string(nil)
		if l.Step == "build" {
			wantBy = map[string]string{"binary-cache": "linux/amd64 tool"}
		}
		if !reflect.DeepEqual(l.Byproducts, wantBy) {
			t.Errorf("%s: byproducts %v, want %v", l.Step, l.Byproducts, wantBy)
		}
	}
	if sign := set.Links[3]; sign.Products["keys/release.pub"] == "" || sign.Materials[bundle.ManifestFile] == "" {
		t.Errorf("sign link: materials %v products %v", sign.Materials, sign.Products)
	}
	if _, err := links.Write(dir, set, k.priv); err != nil {
		t.Fatal(err)
	}
	res, err := links.Verify(dir, []*keys.PublicKey{k.priv.PublicKey()})
	if err != nil || strings.Join(res.Steps, ",") != "freeze,build,digest,sign,attest" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	if out, err := stockVerify(t, stockInToto(t), dir, k.pubFile); err != nil {
		t.Fatalf("stock in-toto rejected links made from digest and sign records: %v\n%s", err, out)
	}
	// keys/* stays allowed metadata, as without records: a verifier trusts only the keys it
	// is given, never the bundle's copies, so the sign link records the key but the layout
	// does not hold the bundle to it.
}

// TestRanWithoutRecords: with no records and no attest command, the links are what they
// were: generic commands and a recorded-by byproduct on digest and sign.
func TestRanWithoutRecords(t *testing.T) {
	dir, m, _, _, _ := signedStagedBundle(t)
	set, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), links.Ran(), links.AttestCommand())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range set.Links {
		if strings.Join(l.Command, " ") != "reliquary "+l.Step {
			t.Errorf("%s: command %q", l.Step, l.Command)
		}
		if _, posthoc := l.Byproducts["recorded-by"]; posthoc != (l.Step != "attest") {
			t.Errorf("%s: byproducts %v", l.Step, l.Byproducts)
		}
	}
}

func TestRanRefuses(t *testing.T) {
	forged := strings.Repeat("f", 64)
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, digestRec, signRec *trail.Record)
		want   []string
	}{
		{"manifest forged", func(_ *testing.T, _ string, d, _ *trail.Record) { d.Outputs[0].SHA256 = forged },
			[]string{bundle.ManifestFile, "the digest record says sha256:" + forged, "the bundle's file is sha256:"}},
		{"signature changed after sign", func(t *testing.T, dir string, _, _ *trail.Record) { writeFile(t, dir, bundle.ManifestSigFile, "{}") },
			[]string{bundle.ManifestSigFile, "the sign record says"}},
		{"artifact digest read forged", func(_ *testing.T, _ string, d, _ *trail.Record) { d.Inputs[1].SHA256 = forged },
			[]string{"artifacts/tool_1_linux_amd64.tar.gz", "the digest record read sha256:" + forged}},
		{"artifact not read", func(_ *testing.T, _ string, d, _ *trail.Record) { d.Inputs = d.Inputs[:1] },
			[]string{"artifacts/tool_1_linux_amd64.tar.gz", "read sha256:(none)"}},
		{"extra input", func(_ *testing.T, _ string, d, _ *trail.Record) {
			d.Inputs = append(d.Inputs, trail.File{Path: "artifacts/ghost", SHA256: forged})
		}, []string{"artifacts/ghost", "not in the bundle's manifest.json"}},
		{"sign read another manifest", func(_ *testing.T, _ string, _, s *trail.Record) { s.Inputs[0].SHA256 = forged },
			[]string{bundle.ManifestFile, "the sign record read sha256:" + forged}},
		{"sign wrote another file", func(t *testing.T, dir string, _, s *trail.Record) {
			writeFile(t, dir, bundle.NotesFile, "notes")
			s.Outputs = append(s.Outputs, trail.FilesOf(dir, bundle.NotesFile)...)
		}, []string{bundle.NotesFile, "sign writes"}},
		{"digest without checksums", func(_ *testing.T, _ string, d, _ *trail.Record) { d.Outputs = d.Outputs[:1] },
			[]string{"digest writes SHA256SUMS, manifest.json"}},
		{"sign record, unsigned bundle", func(t *testing.T, dir string, _, _ *trail.Record) { removeFile(t, dir, bundle.ManifestSigFile) },
			[]string{bundle.ManifestSigFile}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, m, _, digestRec, signRec := signedStagedBundle(t)
			c.tamper(t, dir, &digestRec, &signRec)
			ran := []trail.Record{digestRec, signRec}
			for name, err := range map[string]error{
				"CheckRecorded": links.CheckRecorded(dir, m, ran),
				"BundleSet":     bundleSetErr(dir, m, links.Ran(ran...)),
			} {
				if !errors.Is(err, links.ErrLink) {
					t.Fatalf("%s = %v, want an ErrLink", name, err)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not say %q", name, err, w)
					}
				}
			}
		})
	}
	dir, m, recs, digestRec, _ := signedStagedBundle(t)
	for name, ran := range map[string][]trail.Record{
		"twice":          {digestRec, digestRec},
		"a build record": {recs[1]},
	} {
		if err := bundleSetErr(dir, m, links.Ran(ran...)); !errors.Is(err, links.ErrLink) {
			t.Errorf("%s: BundleSet = %v, want an ErrLink", name, err)
		}
	}
}

func bundleSetErr(dir string, m *bundle.Manifest, opts ...links.BundleOption) error {
	_, err := links.BundleSet(dir, m, releaseTime.AddDate(1, 0, 0), opts...)
	return err
}

func removeFile(t *testing.T, dir, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
		t.Fatal(err)
	}
}
