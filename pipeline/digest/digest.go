// Package digest is the digest stage: it walks a release directory, hashes every file the
// project ships (in parallel, streamed, each file read once for all digests), and writes the
// immutability manifest and a SHA256SUMS file that `sha256sum -c` accepts.
//
// The manifest is written last and atomically, so a directory holding a manifest.json always
// holds the complete SHA256SUMS it was written with.
package digest

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// ErrDigest is the root of the stage's errors about its input directory.
var ErrDigest = errors.New("digest")

// Input is what the digest stage needs: the directory and what to say about the release.
type Input struct {
	Dir          string
	Project      string
	Version      string
	Source       bundle.Source
	Toolchain    string
	BaseImages   []bundle.Image
	Dependencies string
	Attestations []string
	// Known gives kind, media type and platform for paths a previous stage produced; other
	// files are classified by name.
	Known      artifact.List
	Algorithms Algorithms
	Workers    int                     // 0: one per CPU
	Progress   func(done, total int64) // called a few times a second while hashing; may be nil
}

// Output is the stage's result: the manifest as written and the files it wrote.
type Output struct {
	Manifest       *bundle.Manifest
	ManifestSHA256 string
	Written        []string
}

// Run hashes the release directory and writes manifest.json and SHA256SUMS into it.
func Run(ctx context.Context, in Input) (*Output, error) {
	b, err := bundle.Open(in.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigest, err)
	}
	defer b.Close()
	files, err := shippedFiles(b)
	if err != nil {
		return nil, err
	}
	list, err := hashAll(ctx, b, files, in)
	if err != nil {
		return nil, err
	}
	m := &bundle.Manifest{
		Schema: bundle.ManifestSchema, Project: in.Project, Version: in.Version, Source: in.Source,
		Toolchain: in.Toolchain, BaseImages: in.BaseImages, Dependencies: in.Dependencies,
		Attestations: sortedCopy(withSBOM(in.Attestations, list)), Artifacts: list,
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigest, err)
	}
	if err := b.WriteFile(bundle.ChecksumsFile, Checksums(m.Artifacts)); err != nil {
		return nil, err
	}
	if err := b.WriteFile(bundle.ManifestFile, data); err != nil {
		return nil, err
	}
	return &Output{Manifest: m, ManifestSHA256: Bytes(data), Written: []string{bundle.ChecksumsFile, bundle.ManifestFile}}, nil
}

// shippedFiles lists the directory's files that belong in the manifest: every regular file
// but the bundle's own records. A symlink, device or FIFO, or a name that is not a safe
// path, is an error naming it: the manifest must describe exactly what a reader will get.
func shippedFiles(b *bundle.Bundle) ([]bundle.Entry, error) {
	entries, err := b.Inventory()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigest, err)
	}
	var out []bundle.Entry
	for _, e := range entries {
		switch {
		case e.Err != nil:
			return nil, fmt.Errorf("%w: %s: %v", ErrDigest, b.Dir, e.Err)
		case e.Type != bundle.TypeRegular:
			return nil, fmt.Errorf("%w: %s/%s is a %s; only regular files can be released (replace it with the file itself)", ErrDigest, b.Dir, e.Path, e.Type)
		case bundle.IsReserved(e.Path) || atomicfile.IsTemp(e.Path):
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no files to release", ErrDigest, b.Dir)
	}
	return out, nil
}

// hashAll hashes files on a pool of workers and returns the artifacts in path order.
func hashAll(ctx context.Context, b *bundle.Bundle, files []bundle.Entry, in Input) (artifact.List, error) {
	workers := in.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	known := in.Known.ByPath()
	out := make(artifact.List, len(files))
	errs := make([]error, len(files))
	var done atomic.Int64
	stop := startProgress(in.Progress, &done, totalSize(files))
	defer stop()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = hashOne(b, files[i].Path, known, in.Algorithms, &done)
			}
		})
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigest, err)
	}
	return out, nil
}

func hashOne(b *bundle.Bundle, p string, known map[string]artifact.Artifact, algs Algorithms, done *atomic.Int64) (artifact.Artifact, error) {
	f, _, err := b.Open(p)
	if err != nil {
		return artifact.Artifact{}, fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	n, d, err := Reader(countingReader{f, done}, algs)
	if err != nil {
		return artifact.Artifact{}, fmt.Errorf("read %s: %w", p, err)
	}
	a := classify(p)
	if k, ok := known[p]; ok {
		a.Kind, a.MediaType, a.Platform = k.Kind, k.MediaType, k.Platform
	}
	a.Size, a.Digest = n, d
	return a, nil
}

func totalSize(files []bundle.Entry) int64 {
	var t int64
	for _, f := range files {
		t += f.Size
	}
	return t
}

func startProgress(report func(done, total int64), done *atomic.Int64, total int64) (stop func()) {
	if report == nil {
		return func() {}
	}
	t := time.NewTicker(250 * time.Millisecond)
	quit := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				report(done.Load(), total)
			case <-quit:
				return
			}
		}
	}()
	return func() { t.Stop(); close(quit); report(done.Load(), total) }
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// withSBOM declares the SBOM attestation when the release ships SBOMs (the attest stage signs
// every one), so that the gate then requires an SBOM for every archive and image.
func withSBOM(kinds []string, list artifact.List) []string {
	for _, k := range kinds {
		if k == bundle.AttestSBOM {
			return kinds
		}
	}
	for _, a := range list {
		if path.Dir(a.Path) == bundle.SBOMDir && strings.HasSuffix(a.Path, ".cdx.json") {
			return append(append([]string(nil), kinds...), bundle.AttestSBOM)
		}
	}
	return kinds
}
