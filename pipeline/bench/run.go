package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/pipeline/trail"
)

// DefaultCount is the number of samples per side when Input.Count is 0: benchstat's advice.
const DefaultCount = 10

// Input is what the stage runs.
type Input struct {
	Source      string    // directory of the Go module to benchmark, used as it is on disk
	Packages    []string  // package patterns; default ./...
	Bench       string    // the -bench regexp; default "."
	Count       int       // samples per side; default DefaultCount
	BenchTime   string    // -benchtime per sample, e.g. "100ms" or "50x"; "" for go test's 1s
	CPU         string    // -cpu list, e.g. "1,4"; "" for GOMAXPROCS
	BaselineRef string    // git ref or commit of the same repository to compare against; "" for none
	Commands    []Command // command benchmarks
	Log         *slog.Logger
}

// side is one source tree being measured.
type side struct {
	label   string // in errors and logs: "current" or "baseline v0.9.0"
	dir     string // module directory
	work    string // its build directory's name under the runner's scratch directory
	commit  string // "" when not in git
	bins    map[string]testBinary
	cmds    []string // built command binaries, by index in Input.Commands
	results []Result
	cpu     string // `go test`'s cpu line
	// baseline sides may lack packages and commands added since; the current side may not.
	baseline bool
}

// runner is one Run: its input, toolchain, scratch directory and the sides it measures.
type runner struct {
	in      *Input
	policy  *Policy
	tc      *toolchain
	co      checkout // where the source sits in git
	tmp     string   // scratch directory, removed at the end
	machine Machine
}

// Run measures in.Source and, with a baseline ref, the baseline too, interleaved, then
// compares them under the policy built from opts. A failed gate is not an error: it is
// Report.Gate (see Gate.Err). Errors are about being unable to measure.
func Run(ctx context.Context, in Input, opts ...Option) (*Report, error) {
	policy, err := NewPolicy(opts...)
	if err != nil {
		return nil, err
	}
	if err := in.normalize(policy); err != nil {
		return nil, err
	}
	r := &runner{in: &in, policy: policy, tc: newToolchain("")}
	if r.machine, err = describeMachine(ctx, r.tc, in.Source); err != nil {
		return nil, err
	}
	co, isGit, err := inspect(ctx, in.Source)
	if err != nil {
		return nil, err
	}
	r.co = co
	var baseCommit string
	if in.BaselineRef != "" {
		if !isGit {
			return nil, fmt.Errorf("bench: --baseline-ref needs a git checkout, and %s is not in one", in.Source)
		}
		if baseCommit, err = resolveRef(ctx, in.Source, in.BaselineRef); err != nil {
			return nil, err
		}
	}
	if r.tmp, err = os.MkdirTemp("", "reliquary-bench-"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(r.tmp)
	return r.run(ctx, baseCommit)
}

// Stages are the stages a run logs ("stage start"/"stage end", pipeline/trail), in order,
// for a live display: compiling both sides, the interleaved rounds, the comparison.
var Stages = []string{"compile", "measure", "compare"}

func (r *runner) run(ctx context.Context, baseCommit string) (*Report, error) {
	tr := trail.New(r.in.Log)
	cur := &side{label: "current", dir: r.in.Source, work: "current", commit: r.co.commit}
	var base *side
	err := tr.Run(ctx, "compile", func(ctx context.Context) (trail.Step, error) {
		if err := r.prepare(ctx, cur); err != nil || baseCommit == "" {
			return trail.Step{}, err
		}
		var err error
		base, err = r.prepareBaseline(ctx, baseCommit)
		return trail.Step{}, err
	})
	if err != nil {
		return nil, err
	}
	if err := tr.Run(ctx, "measure", func(ctx context.Context) (trail.Step, error) {
		return trail.Step{}, r.measure(ctx, cur, base)
	}); err != nil {
		return nil, err
	}
	if r.machine.CPU == "" {
		r.machine.CPU = cur.cpu
	}
	var rep *Report
	err = tr.Run(ctx, "compare", func(context.Context) (trail.Step, error) {
		rep = r.assemble(cur, base)
		return trail.Step{}, r.policy.checkPower(rep.Gate, r.in.Count)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// checkPower fails a comparison that could not have found anything: Holm's correction tests
// the smallest of m p-values at alpha/m, and with count samples per side no U test reaches
// below 2/C(2n, n). A gate that cannot fail is not a pass.
func (p *Policy) checkPower(g Gate, count int) error {
	if g.Correction != CorrectionHolm || g.Family == 0 {
		return nil
	}
	if need := MinCount(p.alpha / float64(g.Family)); count < need {
		return fmt.Errorf("bench: count %d is too small for %d gated comparisons: with Holm's correction the U test needs at least %d samples per side to show any difference (alpha %v / %d)", count, g.Family, need, p.alpha, g.Family)
	}
	return nil
}

func (in *Input) normalize(p *Policy) error {
	if in.Source == "" {
		return errors.New("bench: no source directory")
	}
	abs, err := filepath.Abs(in.Source)
	if err != nil {
		return fmt.Errorf("bench: source %s: %w", in.Source, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return fmt.Errorf("bench: source %s is not a directory", in.Source)
	}
	in.Source = abs
	if len(in.Packages) == 0 {
		in.Packages = []string{"./..."}
	}
	if in.Bench == "" {
		in.Bench = "."
	}
	if in.Count == 0 {
		in.Count = DefaultCount
	}
	if in.Count < 0 {
		return fmt.Errorf("bench: count %d is negative", in.Count)
	}
	if in.Log == nil {
		in.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if need := MinCount(p.alpha); in.BaselineRef != "" && in.Count < need {
		return fmt.Errorf("bench: count %d is too small to compare: the U test needs at least %d samples per side to show any difference at alpha %v", in.Count, need, p.alpha)
	}
	for i := range in.Commands {
		if err := in.Commands[i].validate(); err != nil {
			return err
		}
	}
	return checkPatterns(in)
}

// MinCount is the fewest samples per side with which a Mann-Whitney U test can reach p <
// alpha at all: the smallest two-sided p for n against n samples is 2/C(2n, n).
func MinCount(alpha float64) int {
	c := 1.0 // C(2n, n), built up incrementally
	for n := 1; n < 100; n++ {
		c = c * float64(2*n) * float64(2*n-1) / float64(n*n)
		if 2/c < alpha {
			return n
		}
	}
	return 100
}

// prepare compiles everything side s will run, once.
func (r *runner) prepare(ctx context.Context, s *side) error {
	in, tc, outDir := r.in, r.tc, filepath.Join(r.tmp, s.work)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	in.Log.Info("compiling benchmarks", "side", s.label, "dir", s.dir)
	pkgs, missing, err := tc.testPackages(ctx, s.dir, in.Packages)
	if err != nil {
		return err
	}
	if len(missing) > 0 && !s.baseline {
		return fmt.Errorf("bench: no package %s in %s", strings.Join(missing, ", "), s.dir)
	}
	for _, m := range missing {
		// New since the baseline: its benchmarks will be reported as added.
		in.Log.Warn("package not in the baseline", "package", m, "ref", in.BaselineRef)
	}
	if err := tc.compileTests(ctx, s.dir, outDir, pkgs); err != nil {
		return err
	}
	s.bins = make(map[string]testBinary, len(pkgs))
	for _, p := range pkgs {
		s.bins[p.pkg] = p
	}
	built := map[string]string{} // package → binary: commands may share a daemon
	for i := range in.Commands {
		c := &in.Commands[i]
		bin, ok := built[c.Package]
		switch {
		case ok:
		case s.baseline && !localPackageExists(s.dir, c.Package):
			in.Log.Warn("command not in the baseline", "command", c.Name, "package", c.Package, "ref", in.BaselineRef)
		default:
			bin = filepath.Join(outDir, fmt.Sprintf("cmd-%03d%s", i, exeSuffix()))
			if err := tc.buildCommand(ctx, s.dir, bin, c); err != nil {
				return err
			}
		}
		built[c.Package] = bin
		s.cmds = append(s.cmds, bin)
	}
	return nil
}

// localPackageExists reports whether a relative package path (./cmd/x) names a directory
// under dir. Import paths are assumed to exist: building them reports what is wrong.
func localPackageExists(dir, pkg string) bool {
	if !strings.HasPrefix(pkg, "./") && !strings.HasPrefix(pkg, "../") {
		return true
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(pkg)))
	return err == nil && fi.IsDir()
}

// prepareBaseline exports the baseline commit's whole tree (the module may use files outside
// its directory) and compiles it.
func (r *runner) prepareBaseline(ctx context.Context, commit string) (*side, error) {
	root := filepath.Join(r.tmp, "baseline-src")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r.in.Log.Info("exporting baseline", "ref", r.in.BaselineRef, "commit", commit)
	if err := exportCommit(ctx, r.co.top, commit, root); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, filepath.FromSlash(r.co.prefix))
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("bench: baseline %s has no directory %s", r.in.BaselineRef, r.co.prefix)
	}
	s := &side{label: "baseline " + r.in.BaselineRef, dir: dir, work: "baseline", commit: commit, baseline: true}
	return s, r.prepare(ctx, s)
}

// measure takes in.Count samples of everything on both sides, interleaved: each round runs
// each package on one side and then the other, alternating which goes first.
func (r *runner) measure(ctx context.Context, cur, base *side) error {
	in := r.in
	pkgs := unionPackages(cur, base)
	args := benchArgs(in)
	for round := 1; round <= in.Count; round++ {
		trail.Progress(ctx, in.Log, "measure", fmt.Sprintf("round %d/%d", round, in.Count))
		order := []*side{cur}
		if base != nil {
			order = []*side{base, cur}
			if round%2 == 0 {
				order = []*side{cur, base}
			}
		}
		for _, pkg := range pkgs {
			for _, s := range order {
				if err := s.runPackage(ctx, pkg, args, round); err != nil {
					return err
				}
			}
		}
		for i := range in.Commands {
			for _, s := range order {
				if err := s.runCommand(ctx, &in.Commands[i], i, round); err != nil {
					return err
				}
			}
		}
	}
	if len(cur.results) == 0 {
		return fmt.Errorf("bench: no benchmark matched %q in %v (in %s)", in.Bench, in.Packages, in.Source)
	}
	return nil
}

func (s *side) runPackage(ctx context.Context, pkg string, args []string, round int) error {
	b, ok := s.bins[pkg]
	if !ok {
		return nil
	}
	out, err := runTestBinary(ctx, b, args, fmt.Sprintf("%s: %s (run %d)", s.label, pkg, round))
	if err != nil {
		return err
	}
	s.results = append(s.results, out.Results...)
	if out.CPU != "" {
		s.cpu = out.CPU
	}
	return nil
}

func (s *side) runCommand(ctx context.Context, c *Command, i, round int) error {
	source := fmt.Sprintf("%s: command %s (run %d)", s.label, c.Name, round)
	if s.cmds[i] == "" {
		return nil // not on this side
	}
	res, err := runCommand(ctx, c, invocation{bin: s.cmds[i], dir: s.dir, source: source})
	if err != nil {
		return err
	}
	s.results = append(s.results, res)
	return nil
}

func unionPackages(sides ...*side) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sides {
		if s == nil {
			continue
		}
		for p := range s.bins {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (r *runner) assemble(cur, base *side) *Report {
	in, p := r.in, r.policy
	rep := &Report{
		Schema:  Schema,
		Machine: r.machine,
		Config: Config{
			Packages: in.Packages, Bench: in.Bench, Count: in.Count,
			BenchTime: in.BenchTime, CPU: in.CPU,
		},
		Current: Side{Commit: cur.commit, Dirty: r.co.dirty, Series: seriesOf(cur.results)},
	}
	for i := range in.Commands {
		rep.Config.Commands = append(rep.Config.Commands, in.Commands[i].config())
	}
	if base == nil {
		rep.Gate = p.SkippedGate("no baseline to compare against")
		return rep
	}
	rep.Baseline = &Side{Ref: in.BaselineRef, Commit: base.commit, Series: seriesOf(base.results)}
	rep.Comparisons, rep.Gate = p.Compare(rep.Baseline.Series, rep.Current.Series)
	return rep
}
