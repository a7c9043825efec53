package main

import (
	"path/filepath"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/attest"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sign"
	"github.com/sentientos/reliquary/pipeline/verify"
	"github.com/sentientos/reliquary/pipeline/vsa"
)

// verifierID names this CLI as the verifier in summaries it writes.
const verifierID = "https://reliquary.dev/verifier/cli"

// writeSummary writes the gate's SLSA verification summary for report to out: a DSSE
// Sigstore bundle when keyFile is given, the bare in-toto statement otherwise.
func writeSummary(dir string, report *verify.Report, out, keyFile string) error {
	stmt, err := summaryStatement(dir, report)
	if err != nil {
		return usageError(err)
	}
	if keyFile != "" {
		key, err := keys.Load(keyFile, keys.PasswordFromEnv())
		if err != nil {
			return usageError(err)
		}
		if stmt, err = sign.DSSE(stmt, attest.PayloadType, key); err != nil {
			return usageError(err)
		}
	}
	return atomicfile.WriteFile(out, stmt, 0o644)
}

func summaryStatement(dir string, report *verify.Report) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var inputs []vsa.Attestation
	for _, in := range report.Inputs {
		inputs = append(inputs, vsa.Attestation{URI: in.Path, SHA256: in.SHA256})
	}
	return vsa.Statement(vsa.Input{
		VerifierID: verifierID, VerifierVer: cliVersion, Time: time.Now(), ResourceURI: "file://" + filepath.ToSlash(abs),
		ManifestSHA256: report.ManifestSHA256, Artifacts: report.Artifacts, Passed: report.Verified && report.Authenticated,
		Inputs: inputs, VerifiedLevels: []string{"SLSA_BUILD_LEVEL_1"},
	})
}
