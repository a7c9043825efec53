// Package audit is the least-privilege audit of a release: it checks what the pipeline
// produced and how it was defined, and writes the person-readable audit_summary.md.
//
// Contract:
//   - Run checks a staged bundle: every OCI image (read with go-containerregistry from its
//     layout tarball) runs as a non-root user, has no setuid, setgid, world-writable or
//     device files in any layer, and carries the OCI labels source, revision, version and
//     created, with created equal to the commit time; every archive's entries have safe
//     names and sane modes (no world-writable, setuid or setgid entry, no device); no file
//     of the bundle, and no file inside an archive or image layer, holds private key
//     material; the build ran with CGO_ENABLED=0 and GOPROXY=off (from its recorded
//     commands); and, when given, the Dagger module's Go source grants no privileged or
//     insecure capability and handles secrets only as mounted files (CheckDaggerModule).
//   - Every finding has a severity. A high-severity finding fails the release (Report.Err);
//     what could not be checked is a finding too, never a silent pass.
//   - Summary renders audit_summary.md from the release's trail, toolchain, images,
//     verification results and findings. It is pure: the same input gives the same bytes.
//
// Every reader is bounded: archives and layers by entry count and uncompressed size.
package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// Severity ranks a finding. High fails the release.
type Severity string

const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
)

func (s Severity) rank() int {
	switch s {
	case High:
		return 0
	case Medium:
		return 1
	}
	return 2
}

// Finding is one problem the audit found, about one subject (a bundle path, an archive
// entry, a source line).
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`   // image, archive, secrets, build, dagger
	Subject  string   `json:"subject"` // e.g. artifacts/app.oci.tar (linux/amd64): /usr/bin/su
	Message  string   `json:"message"`
}

// ErrHighSeverity is wrapped by Report.Err when the audit has a high-severity finding.
var ErrHighSeverity = errors.New("least-privilege audit: high-severity findings")

// Report is the audit's result.
type Report struct {
	Findings []Finding `json:"findings"` // sorted: severity, check, subject
	Checked  []string  `json:"checked"`  // what was checked and found sound, one line each
	Images   []Image   `json:"images"`   // the images read, for the summary
}

// Count returns how many findings have severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Err returns an error naming every high-severity finding, nil when there is none.
func (r *Report) Err() error {
	var high []string
	for _, f := range r.Findings {
		if f.Severity == High {
			high = append(high, f.Subject+": "+f.Message)
		}
	}
	if len(high) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrHighSeverity, strings.Join(high, "; "))
}

func (r *Report) add(fs ...Finding) { r.Findings = append(r.Findings, fs...) }

func (r *Report) ok(format string, a ...any) {
	r.Checked = append(r.Checked, fmt.Sprintf(format, a...))
}

func (r *Report) sort() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Severity != b.Severity {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Subject < b.Subject
	})
}

// BuildRecord is one recorded build command: its name (the platform) and environment.
type BuildRecord struct {
	Name string
	Env  []string // KEY=VALUE
}

// Input is what Run audits.
type Input struct {
	Dir      string           // the bundle directory
	Manifest *bundle.Manifest // its manifest: which files are archives and images
	// CommitTime is the time the image's created label and config must carry.
	CommitTime time.Time
	// ImageVersion is the version label the images must carry (default: the manifest's
	// version; a promoted release ships its candidate's image, labelled with its version).
	ImageVersion string
	// Build is the build's recorded commands; nil when the build is not known to this run
	// (reported as a low finding).
	Build []BuildRecord
	// DaggerModule is the directory of the Dagger module's Go source to check statically;
	// "" when the release has none.
	DaggerModule string
}

// Run audits the bundle. It returns an error only when the audit could not run (no
// manifest, context cancelled); every problem with the release is a finding.
func Run(ctx context.Context, in Input) (*Report, error) {
	if in.Manifest == nil {
		return nil, fmt.Errorf("audit: no manifest")
	}
	if in.ImageVersion == "" {
		in.ImageVersion = in.Manifest.Version
	}
	r, err := scanAll(ctx, in)
	if err != nil {
		return nil, err
	}
	checkBuild(r, in.Build)
	if in.DaggerModule != "" {
		fs, err := CheckDaggerModule(in.DaggerModule)
		if err != nil {
			r.add(Finding{Severity: Medium, Check: "dagger", Subject: ModuleLabel(in.DaggerModule), Message: "not checked: " + err.Error()})
		} else {
			r.add(fs...)
			if len(fs) == 0 {
				r.ok("Dagger module %s: no privileged or insecure capability; secrets only as mounted files", ModuleLabel(in.DaggerModule))
			}
		}
	}
	r.sort()
	return r, nil
}

// scanAll runs the scans that read files, the artifacts' and the bundle's, in parallel (at
// most GOMAXPROCS at a time: each decompresses an archive or hashes files), each into its own
// report, and merges them in a fixed order (the artifacts in manifest order, then the
// bundle's), so the report is the same as one scan after another would give.
func scanAll(ctx context.Context, in Input) (*Report, error) {
	arts := in.Manifest.Artifacts
	parts := make([]*Report, len(arts)+1)
	var bundleErr error
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = &Report{}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			switch {
			case ctx.Err() != nil:
			case i < len(arts):
				auditArtifact(parts[i], in, arts[i])
			default:
				bundleErr = scanBundle(ctx, parts[i], in.Dir)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if bundleErr != nil {
		return nil, bundleErr
	}
	r := &Report{Findings: []Finding{}}
	for _, p := range parts {
		r.Findings = append(r.Findings, p.Findings...)
		r.Checked = append(r.Checked, p.Checked...)
		r.Images = append(r.Images, p.Images...)
	}
	return r, nil
}

// auditArtifact runs the checks that apply to one artifact's kind and format. An image's
// layout tarball is an archive too: its own entries are checked like any archive's.
func auditArtifact(r *Report, in Input, a artifact.Artifact) {
	path := joinPath(in.Dir, a.Path)
	if a.Kind == artifact.KindImage && strings.HasSuffix(a.Path, ".tar") {
		auditImage(r, path, a.Path, imageWant{commit: in.Manifest.Source.Commit, source: in.Manifest.Source.Repository, version: in.ImageVersion, created: in.CommitTime})
	}
	if isArchive(a.Path) {
		auditArchive(r, path, a.Path)
	}
}
