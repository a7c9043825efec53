package release

import (
	"context"
	"fmt"

	"github.com/sentientos/reliquary/pipeline/bench"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trail"
)

// benchSettings is the benchmark stage's configuration; nil means no benchmarks.
type benchSettings struct {
	in   bench.Input
	opts []bench.Option
}

// WithBench runs the project's benchmarks (against in.BaselineRef when set, side by side)
// before the manifest is written: bench.json goes into the manifest, its signed statement
// into the bundle, and a regression the policy does not allow fails the release.
func WithBench(in bench.Input, opts ...bench.Option) Option {
	return func(s *settings) error {
		s.bench = &benchSettings{in: in, opts: opts}
		s.attestations = append(s.attestations, bundle.AttestBenchmark)
		return nil
	}
}

// bench measures, records and gates. It runs after the build (so a broken build fails
// first) and before digest (so bench.json is sealed by the manifest).
func (r *run) bench(ctx context.Context) (*bench.Report, error) {
	if r.s.bench == nil {
		r.trail.Skip(ctx, "bench", "not asked (--bench)")
		return nil, nil
	}
	var report *bench.Report
	err := r.trail.Run(ctx, "bench", func(ctx context.Context) (trail.Step, error) {
		in := r.s.bench.in
		in.Source, in.Log = r.in.Source, r.s.log
		var err error
		if report, err = bench.Run(ctx, in, r.s.bench.opts...); err != nil {
			return trail.Step{}, err
		}
		data, err := report.Marshal()
		if err != nil {
			return trail.Step{}, err
		}
		if err := bundle.WriteFile(r.stage, bundle.BenchFile, data); err != nil {
			return trail.Step{}, err
		}
		if err := SignBench(r.stage, r.in.Key); err != nil {
			return trail.Step{}, err
		}
		if err := report.Gate.Err(); err != nil {
			return trail.Step{}, fmt.Errorf("%w: %v\n%s", ErrGate, err, bench.Text(report))
		}
		cmd := []string{"reliquary", "bench", "--source", "."}
		if in.BaselineRef != "" {
			cmd = append(cmd, "--baseline-ref", in.BaselineRef)
		}
		return trail.Step{Command: cmd, Outputs: trail.FilesOf(r.stage, bundle.BenchFile, bundle.BenchSigFile)}, nil
	})
	return report, err
}

// SignBench signs the statement about the bundle's bench.json into bench.sigstore.json.
func SignBench(dir string, key *keys.PrivateKey) error {
	b, err := bundle.Open(dir)
	if err != nil {
		return err
	}
	defer b.Close()
	data, err := b.ReadFile(bundle.BenchFile, bench.MaxReportSize)
	if err != nil {
		return err
	}
	stmt, err := bench.Statement(data)
	if err != nil {
		return fmt.Errorf("%s: %w", bundle.BenchFile, err)
	}
	return signStatement(dir, bundle.BenchSigFile, stmt, key)
}
