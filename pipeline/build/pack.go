package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/pipeline/archive"
	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/config"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/docs"
	"github.com/sentientos/reliquary/pipeline/image"
)

// pack writes the archives, the image and the docs bundle, in parallel, each as soon as
// the binaries it packs are there (rd). On failure it removes what it wrote, so a failed
// build leaves no artifact behind.
func (r *runner) pack(ctx context.Context, bins []built, rd *readiness) (err error) {
	defer func() {
		if err != nil {
			r.removeOutputs()
		}
	}()
	extra, err := docs.Select(r.source, r.cfg.ArchiveFiles())
	if err != nil {
		return fmt.Errorf("build: archive files: %w", err)
	}
	tasks := []packTask{{run: r.writeDocs}}
	var linux []Platform
	for _, p := range r.platforms {
		tasks = append(tasks, packTask{after: []Platform{p}, run: func() error { return r.writeArchive(p, bins, extra) }})
		if p.OS == "linux" {
			linux = append(linux, p)
		}
	}
	tasks = append(tasks, packTask{after: linux, run: func() error { return r.writeImage(ctx, bins) }})
	return r.inParallel(ctx, rd, tasks)
}

// removeOutputs removes the artifacts and SBOMs written so far, after a failure.
func (r *runner) removeOutputs() {
	for _, a := range r.out.Artifacts {
		os.Remove(filepath.Join(r.out.OutDir, filepath.FromSlash(a.Path)))
	}
	for _, s := range r.out.SBOMs {
		os.Remove(filepath.Join(r.out.OutDir, filepath.FromSlash(s.Path)))
	}
	r.out.Artifacts, r.out.SBOMs = nil, nil
}

// packTask is one packaging task and the platforms whose binaries it needs.
type packTask struct {
	after []Platform
	run   func() error
}

// inParallel runs the packaging tasks, each once its binaries are there and at most
// r.s.parallel at a time (compression is the cost), and reports every failure.
func (r *runner) inParallel(ctx context.Context, rd *readiness, tasks []packTask) error {
	sem := make(chan struct{}, r.s.parallel)
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = rd.wait(ctx, task.after...); errs[i] != nil {
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = task.run()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// skip records something not produced.
func (r *runner) skip(what, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Skipped = append(r.out.Skipped, Skip{What: what, Reason: reason})
}

// writeArchive writes one platform's archive: its binaries and the extra files.
func (r *runner) writeArchive(p Platform, bins []built, extra []archive.Entry) error {
	base, err := r.cfg.ArchiveName(config.NameData{Project: r.project, Version: r.version, OS: p.OS, Arch: p.archName()})
	if err != nil {
		return fmt.Errorf("build: archive name: %w", err)
	}
	entries := append([]archive.Entry(nil), extra...)
	for _, b := range bins {
		if b.platform == p {
			entries = append(entries, archive.Entry{Name: b.name, Mode: archive.ModeExec, Path: b.path})
		}
	}
	name, write := base+".tar.gz", archive.WriteTarGz
	if p.OS == "windows" {
		name, write = base+".zip", archive.WriteZip
	}
	out := filepath.Join(r.artifacts, name)
	err = r.cachedPack(out, func() (PackKey, error) { return archiveKey(entries, r.time) }, nil, func() error {
		return atomicfile.Write(out, 0o644, func(w io.Writer) error { return write(w, entries, r.time) })
	})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return r.record(name, artifact.KindArchive, p.String())
}

// archiveKey is an archive's pack cache key: the entries' names and modes, the time, and
// the content of every file (inline data is a parameter).
func archiveKey(entries []archive.Entry, t time.Time) (PackKey, error) {
	params := struct {
		Entries []archive.Entry `json:"entries"`
		Time    time.Time       `json:"time"`
	}{Time: t} // with its zone: a writer that ever used it would then never share an entry
	var paths []string
	for _, e := range entries {
		if e.Path != "" {
			paths = append(paths, e.Path)
			e.Path = "#" + strconv.Itoa(len(paths)-1) // the content's place in Contents
		}
		params.Entries = append(params.Entries, e)
	}
	contents, err := contentKey(paths)
	return PackKey{Params: params, Contents: contents}, err
}

// imageBinaries picks the linux binaries that go in the image and its entrypoint.
func (r *runner) imageBinaries(bins []built) ([]image.Platform, string, error) {
	want := map[string]bool{}
	for _, n := range r.cfg.Image.Binaries {
		want[n] = true
	}
	byPlatform := map[string]*image.Platform{}
	var names []string // the image's binaries, once each
	for _, b := range bins {
		if b.platform.OS != "linux" || (len(want) > 0 && !want[b.target.Binary]) {
			continue
		}
		ip := byPlatform[b.platform.String()]
		if ip == nil {
			ip = &image.Platform{Platform: b.platform.String()}
			byPlatform[b.platform.String()] = ip
		}
		ip.Binaries = append(ip.Binaries, image.Binary{Name: b.target.Binary, Path: b.path})
		if !contains(names, b.target.Binary) {
			names = append(names, b.target.Binary)
		}
	}
	var out []image.Platform
	for _, ip := range byPlatform {
		out = append(out, *ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	for n := range want {
		if !contains(names, n) {
			return nil, "", fmt.Errorf("build: image.binaries names %q, which is not built", n)
		}
	}
	return out, r.entrypoint(names), nil
}

// entrypoint is the configured one, else the binary named like the project, else the first.
func (r *runner) entrypoint(names []string) string {
	sort.Strings(names)
	switch {
	case r.cfg.Image.Entrypoint != "":
		return r.cfg.Image.Entrypoint
	case contains(names, r.project):
		return r.project
	case len(names) > 0:
		return names[0]
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *runner) writeImage(ctx context.Context, bins []built) error {
	if r.cfg.Image.Skip {
		r.skip("image", "image.skip is set in "+config.FileName)
		return nil
	}
	platforms, entry, err := r.imageBinaries(bins)
	if err != nil {
		return err
	}
	if len(platforms) == 0 {
		r.skip("image", "no linux platform is built")
		return nil
	}
	base := r.s.imageBase
	if base == "" && r.cfg.Image.Base != "" {
		base = filepath.Join(r.source, filepath.FromSlash(r.cfg.Image.Base))
	}
	name := r.project + "_" + r.version + ".oci.tar"
	in := image.Input{
		Platforms: platforms, Entrypoint: entry, Time: r.time, Source: r.repository(),
		Revision: r.commit, Version: r.version, Base: base,
		Out: filepath.Join(r.artifacts, name),
	}
	var res *image.Output
	err = r.cachedPack(in.Out, func() (PackKey, error) { return imageKey(in) }, &res, func() (err error) {
		res, err = image.Build(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if base != "" {
		res.Base = filepath.Base(base) // a location on this machine says nothing to a replayer
	}
	r.mu.Lock()
	r.out.Image = res
	r.mu.Unlock()
	return r.record(name, artifact.KindImage, "")
}

// imageKey is the image's pack cache key: the input with each binary and the base image
// replaced by its place in Contents.
func imageKey(in image.Input) (PackKey, error) {
	var paths []string
	ref := func(p string) string {
		paths = append(paths, p)
		return "#" + strconv.Itoa(len(paths)-1)
	}
	params := in
	params.Out = ""
	params.Platforms = nil
	for _, p := range in.Platforms {
		q := image.Platform{Platform: p.Platform}
		for _, b := range p.Binaries {
			q.Binaries = append(q.Binaries, image.Binary{Name: b.Name, Path: ref(b.Path)})
		}
		params.Platforms = append(params.Platforms, q)
	}
	if in.Base != "" {
		params.Base = ref(in.Base)
	}
	contents, err := contentKey(paths)
	return PackKey{Params: params, Contents: contents}, err
}

// repository is the source URL for the image label: option, config, else https://module.
func (r *runner) repository() string {
	switch {
	case r.s.repository != "":
		return r.s.repository
	case r.cfg.Repository != "":
		return r.cfg.Repository
	}
	return "https://" + r.module
}

func (r *runner) writeDocs() error {
	if r.cfg.Docs.Skip {
		r.skip("docs", "docs.skip is set in "+config.FileName)
		return nil
	}
	name := r.project + "_" + r.version + "_docs.tar.gz"
	n, err := docs.Write(docs.Input{Source: r.source, Patterns: r.cfg.DocsFiles(), Out: filepath.Join(r.artifacts, name), Time: r.time})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if n == 0 {
		r.skip("docs", "no file matches "+strings.Join(r.cfg.DocsFiles(), " "))
		return nil
	}
	return r.record(name, artifact.KindDocs, "")
}

// record hashes a written artifact and adds it to the output.
func (r *runner) record(name string, kind artifact.Kind, platform string) error {
	f, err := os.Open(filepath.Join(r.artifacts, name))
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer f.Close()
	size, d, err := digest.Reader(f, digest.SHA256Only)
	if err != nil {
		return fmt.Errorf("build: hash %s: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Artifacts = append(r.out.Artifacts, artifact.Artifact{
		Path: path.Join(bundle.ArtifactsDir, name), Kind: kind, MediaType: artifact.MediaTypeFor(name),
		Size: size, Digest: d, Platform: platform,
	})
	return nil
}
