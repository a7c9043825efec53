package publish

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Scheme prefixes every registry location on the command line.
const Scheme = "oci://"

// ErrTarget: a registry location that is not oci://HOST[:PORT]/REPO[:TAG].
var ErrTarget = errors.New("registry location")

// Target is a repository in a registry and, for verify and replicate, a version tag.
type Target struct {
	Repo name.Repository
	Tag  string // empty: none given
}

// IsTarget reports whether s names a registry location rather than a directory.
func IsTarget(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseTarget parses oci://HOST[:PORT]/REPO[:TAG]. insecure allows plain HTTP (loopback
// addresses always may; go-containerregistry decides that).
func ParseTarget(s string, insecure bool) (Target, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Target{}, fmt.Errorf("%w %q: want %sHOST[:PORT]/REPO[:TAG]", ErrTarget, s, Scheme)
	}
	if strings.Contains(rest, "@") {
		return Target{}, fmt.Errorf("%w %q: name a version tag, not a digest (the digest comes from the signed release)", ErrTarget, s)
	}
	host, path, ok := strings.Cut(rest, "/")
	if !ok || host == "" || path == "" {
		return Target{}, fmt.Errorf("%w %q: want %sHOST[:PORT]/REPO[:TAG]", ErrTarget, s, Scheme)
	}
	var tag string
	if i := strings.LastIndex(path, ":"); i >= 0 {
		path, tag = path[:i], path[i+1:]
	}
	var opts []name.Option
	opts = append(opts, name.StrictValidation)
	if insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(host+"/"+path, opts...)
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: %w", ErrTarget, s, err)
	}
	if tag != "" {
		if _, err := name.NewTag(repo.Name()+":"+tag, opts...); err != nil {
			return Target{}, fmt.Errorf("%w %q: tag: %w", ErrTarget, s, err)
		}
	}
	return Target{Repo: repo, Tag: tag}, nil
}

// String is the location as the user writes it.
func (t Target) String() string {
	if t.Tag == "" {
		return Scheme + t.Repo.Name()
	}
	return Scheme + t.Repo.Name() + ":" + t.Tag
}

// BundleTag is the tag of a version's release-bundle artifact.
func BundleTag(version string) string { return version + "-bundle" }
