package release

import (
	"context"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/escrow"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// declareEscrow makes the manifest declare the escrow, before digest writes it, so that the
// gate requires the escrow: deleting it (and with it the signature over the notes) fails.
func (r *run) declareEscrow() {
	r.s.attestations = append(r.s.attestations, bundle.AttestEscrow)
}

// escrow archives the release's records (manifest, sums, signatures, provenance, notes,
// changelog, audit summary) into escrow.tar.gz and signs it.
func (r *run) escrow(ctx context.Context, src *SourceInfo) error {
	return r.trail.Run(ctx, "escrow", func(context.Context) (trail.Step, error) {
		out, err := escrow.Write(r.stage, r.in.Key, src.Time)
		if err != nil {
			return trail.Step{}, err
		}
		r.s.log.Info("escrow", "file", bundle.EscrowFile, "sha256", out.SHA256, "records", len(out.Members))
		return EscrowStep(r.stage, out), nil
	})
}

// EscrowStep is the trail entry of an escrow: the records in, the archive and signature out.
func EscrowStep(dir string, out *escrow.Output) trail.Step {
	in := make([]trail.File, 0, len(out.Members))
	for _, m := range out.Members {
		in = append(in, trail.File{Path: m.Name, SHA256: m.SHA256})
	}
	return trail.Step{Inputs: in, Outputs: trail.FilesOf(dir, out.Files...)}
}
