package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/audit"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/release"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// maxBuildReport bounds a build report (`reliquary build --report`) before it is parsed.
const maxBuildReport = 64 << 20

// runAudit is the stage after notes: the least-privilege audit of the signed, attested
// bundle, a gate pass trusting the release key, and audit_summary.md. A high-severity
// finding, or a bundle that already fails the gate, exits 1 (the summary is written).
func runAudit(ctx context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "audit", "DIR")
	src := fs.String("source", ".", "the project's source: a Dagger module in it is checked statically")
	pubFile := fs.String("key", "", "the release's public key (PEM): the gate before the escrow trusts it alone (required)")
	buildReport := fs.String("build-report", "", "the build's report ('reliquary build --report FILE'): each platform's build environment is audited")
	at := fs.String("time", "", "the release time, RFC 3339 (default: $SOURCE_DATE_EPOCH; one is required)")
	var records fileList
	fs.Var(&records, "stage-record", "a stage record of this release (freeze, build, digest, sign ...), listed in the summary in the order given (repeatable)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	in, err := auditInput(pos[0], *src, *pubFile, *buildReport, *at, records)
	if err != nil {
		return err
	}
	rep, err := release.Audit(ctx, in)
	if rep != nil {
		cli.log.Info("least-privilege audit", "high", rep.Count(audit.High), "medium", rep.Count(audit.Medium), "low", rep.Count(audit.Low))
	}
	if errors.Is(err, release.ErrGate) {
		return gateFailed(err)
	}
	if err != nil {
		return usageError(err)
	}
	fmt.Fprintln(cli.stdout, joinPath(pos[0], "audit_summary.md"))
	return nil
}

func auditInput(dir, src, pubFile, buildReport, at string, records []string) (release.AuditInput, error) {
	in := release.AuditInput{Dir: dir, Source: src}
	if pubFile == "" {
		return in, usagef("--key is required: the release's public key")
	}
	var err error
	if in.Time, err = releaseTimeFlag(at); err != nil {
		return in, err
	}
	if in.Key, err = keys.LoadPublic(pubFile); err != nil {
		return in, usageError(err)
	}
	if in.Manifest, err = readManifest(dir); err != nil {
		return in, usageError(err)
	}
	for _, r := range records {
		rec, err := trail.ReadRecord(r)
		if err != nil {
			return in, usageError(err)
		}
		in.Trail = append(in.Trail, rec)
	}
	if buildReport != "" {
		if in.Build, err = readBuildReport(buildReport); err != nil {
			return in, err
		}
	}
	return in, nil
}
