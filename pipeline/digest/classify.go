package digest

import (
	"io"
	"path"
	"strings"
	"sync/atomic"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
)

// classify guesses an artifact's kind, media type and platform from its path, for files no
// earlier stage described. Archive names follow NAME_VERSION_OS_ARCH.EXT.
func classify(p string) artifact.Artifact {
	a := artifact.Artifact{Path: p, MediaType: artifact.MediaTypeFor(p), Kind: artifact.KindFile}
	name := strings.ToLower(path.Base(p))
	switch {
	case p == bundle.DepsLockFile || p == bundle.BenchFile:
		a.Kind = artifact.KindMetadata
	case strings.HasPrefix(p, bundle.SBOMDir+"/") && strings.HasSuffix(name, ".cdx.json"):
		a.Kind, a.MediaType = artifact.KindMetadata, "application/vnd.cyclonedx+json"
	case strings.HasSuffix(name, ".oci.tar"):
		a.Kind = artifact.KindImage
	case strings.HasSuffix(name, "_docs.tar.gz") || strings.HasSuffix(name, "_docs.zip"):
		a.Kind = artifact.KindDocs
	case strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".zip"):
		a.Kind = artifact.KindArchive
		a.Platform = platformOf(name)
	}
	return a
}

var knownOS = map[string]bool{"linux": true, "darwin": true, "windows": true, "freebsd": true, "openbsd": true, "netbsd": true, "illumos": true, "android": true, "ios": true, "plan9": true, "aix": true, "solaris": true}

func platformOf(name string) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".zip"} {
		name = strings.TrimSuffix(name, ext)
	}
	parts := strings.Split(name, "_")
	if len(parts) < 3 {
		return ""
	}
	goos, goarch := parts[len(parts)-2], parts[len(parts)-1]
	if !knownOS[goos] || goarch == "" {
		return ""
	}
	return goos + "/" + goarch
}

// countingReader adds every byte read to a shared counter, for progress reports.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
