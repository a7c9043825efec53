package attest

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sentientos/reliquary/pipeline/artifact"
)

// Build types and builder ids this stage writes. The builder id says who ran the build: the
// host runner (`reliquary release` on a laptop or CI machine) and the container runner
// (`dagger call release`) have different trust properties, so they must never share an id.
const (
	BuildTypeGo   = "https://reliquary.dev/buildtypes/go/v1"
	BuilderHost   = "https://reliquary.dev/builders/host/v1"
	BuilderDagger = "https://reliquary.dev/builders/dagger/v1"
)

// ErrInput is the root of every error Input.Validate returns.
var ErrInput = errors.New("invalid provenance input")

// Input is everything a provenance statement says about one release. The release run fills it;
// Validate checks every field before anything is signed.
type Input struct {
	// Version is the release version. It must equal the manifest's version: the gate rejects
	// a statement whose version differs (a statement replayed from another release).
	Version string
	// BuildType is the URI of the build's template (default BuildTypeGo).
	BuildType string
	// Source is the code the release was built from.
	Source Source
	// Platforms are the os/arch pairs built, for example "linux/amd64" (none for a release
	// of platform-independent files).
	Platforms []string
	// Toolchain is the compiler that built the release (optional: zero when none was used).
	Toolchain Toolchain
	// BaseImages are the container images the build ran in or built upon, pinned by digest.
	BaseImages []Image
	// Dependencies is the digest ("sha256:HEX") of the frozen dependency set (deps.lock.json),
	// empty when the release has none.
	Dependencies string
	// Internal holds build settings a consumer need not check but an auditor may want
	// (GOFLAGS, CGO_ENABLED, SOURCE_DATE_EPOCH...). Never put a secret here: it is published.
	Internal map[string]string
	// Builder says what ran the build: an id (BuilderHost or BuilderDagger) and versions.
	Builder Builder
	// InvocationID identifies this run of the builder (a run id, a Dagger session id).
	InvocationID string
	// StartedOn and FinishedOn bound the build. Take them from the commit time or
	// SOURCE_DATE_EPOCH when the release must be reproducible.
	StartedOn, FinishedOn time.Time
	// Artifacts is the manifest's artifact list. Its provenance subjects (every kind but
	// metadata, see artifact.Kind.IsSubject) become the statement's subjects.
	Artifacts artifact.List
}

// Source names the code a release was built from.
type Source struct {
	// Repository is a URL (https://github.com/owner/repo), or "" when the source has no
	// published repository: the provenance then names the source by commit (and tree digest)
	// only, never by a path on the building machine.
	Repository string
	Ref        string // optional: the git ref built, refs/tags/v1.2.3
	Commit     string // the commit id: 40 lowercase hex digits
	TreeDigest string // optional "sha256:HEX" over the source tree
}

// Toolchain is the compiler, named and versioned, optionally pinned by digest.
type Toolchain struct {
	Name    string // "go"
	Version string // "go1.26.1"
	Digest  string // optional "sha256:HEX", for example of the toolchain's archive or image
}

// Image is a container image pinned by digest.
type Image struct {
	Name   string // docker.io/library/golang:1.26.1
	Digest string // sha256:HEX
}

// Builder identifies the platform that ran the build.
type Builder struct {
	ID      string            // a URI: BuilderHost, BuilderDagger
	Version map[string]string // component -> version, for example {"reliquary": "v0.3.0"}
}

// Validate checks every field and says which one is wrong.
func (in *Input) Validate() error {
	checks := []func() error{
		func() error { return checkText("version", in.Version) },
		func() error { return checkURI("buildType", in.buildType()) },
		in.Source.validate,
		in.validatePlatforms,
		in.Toolchain.validate,
		in.validateImages,
		func() error { return checkOptionalDigest("dependencies", in.Dependencies) },
		func() error { return checkMap("internal", in.Internal) },
		in.Builder.validate,
		func() error { return checkText("invocationID", in.InvocationID) },
		in.validateTimes,
		in.validateArtifacts,
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return fmt.Errorf("%w: %w", ErrInput, err)
		}
	}
	return nil
}

func (in *Input) buildType() string {
	if in.BuildType == "" {
		return BuildTypeGo
	}
	return in.BuildType
}

func (s Source) validate() error {
	if s.Repository != "" {
		if err := checkURI("source.repository", s.Repository); err != nil {
			return err
		}
	}
	if s.Ref != "" {
		if err := checkText("source.ref", s.Ref); err != nil {
			return err
		}
	}
	// in-toto's digest set defines gitCommit as a SHA-1 object id; SHA-256 repositories
	// have no registered digest name yet.
	if !isHex(s.Commit, 40) {
		return fmt.Errorf("source.commit: want 40 lowercase hex digits (a git SHA-1 commit id), got %q", s.Commit)
	}
	return checkOptionalDigest("source.treeDigest", s.TreeDigest)
}

func (in *Input) validatePlatforms() error {
	seen := map[string]bool{}
	for i, p := range in.Platforms {
		os, arch, ok := strings.Cut(p, "/")
		if !ok || os == "" || arch == "" || strings.ContainsAny(p, " \t\n") {
			return fmt.Errorf("platforms[%d]: want os/arch, got %q", i, p)
		}
		if seen[p] {
			return fmt.Errorf("platforms[%d]: %q listed twice", i, p)
		}
		seen[p] = true
	}
	return nil
}

func (t Toolchain) validate() error {
	if t == (Toolchain{}) {
		return nil
	}
	if err := checkText("toolchain.name", t.Name); err != nil {
		return err
	}
	if err := checkText("toolchain.version", t.Version); err != nil {
		return err
	}
	if strings.ContainsAny(t.Name+t.Version, "/@?# ") {
		return fmt.Errorf("toolchain: name and version may not contain '/', '@', '?', '#' or spaces: %q %q", t.Name, t.Version)
	}
	return checkOptionalDigest("toolchain.digest", t.Digest)
}

func (in *Input) validateImages() error {
	for i, im := range in.BaseImages {
		if err := checkText(fmt.Sprintf("baseImages[%d].name", i), im.Name); err != nil {
			return err
		}
		if err := checkDigest(fmt.Sprintf("baseImages[%d].digest", i), im.Digest); err != nil {
			return err
		}
	}
	return nil
}

func (b Builder) validate() error {
	if err := checkURI("builder.id", b.ID); err != nil {
		return err
	}
	return checkMap("builder.version", b.Version)
}

func (in *Input) validateTimes() error {
	switch {
	case in.StartedOn.IsZero():
		return errors.New("startedOn: not set")
	case in.FinishedOn.IsZero():
		return errors.New("finishedOn: not set")
	case in.FinishedOn.Before(in.StartedOn):
		return fmt.Errorf("finishedOn (%s) is before startedOn (%s)", in.FinishedOn.UTC().Format(time.RFC3339), in.StartedOn.UTC().Format(time.RFC3339))
	case in.StartedOn.Year() < 1970 || in.FinishedOn.Year() > 9999:
		return errors.New("startedOn/finishedOn: outside the years 1970-9999")
	}
	return nil
}

func (in *Input) validateArtifacts() error {
	if err := in.Artifacts.Validate(); err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	if len(in.Artifacts.Subjects()) == 0 {
		return errors.New("artifacts: no provenance subjects (every artifact is metadata)")
	}
	return nil
}

func checkText(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%s: empty", field)
	case len(s) > 1024:
		return fmt.Errorf("%s: longer than 1024 bytes", field)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: not valid UTF-8", field)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%s: %q contains a control character", field, s)
	}
	return nil
}

func checkURI(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return fmt.Errorf("%s: want an absolute URI, got %q", field, s)
	}
	return nil
}

// checkDigest accepts "sha256:" followed by 64 lowercase hex digits, the one digest form
// manifests use.
func checkDigest(field, s string) error {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || !isHex(hex, 64) {
		return fmt.Errorf("%s: want sha256:<64 lowercase hex digits>, got %q", field, s)
	}
	return nil
}

func checkOptionalDigest(field, s string) error {
	if s == "" {
		return nil
	}
	return checkDigest(field, s)
}

func checkMap(field string, m map[string]string) error {
	for _, k := range sortedKeys(m) {
		if err := checkText(field+" key", k); err != nil {
			return err
		}
		if !utf8.ValidString(m[k]) || len(m[k]) > 4096 {
			return fmt.Errorf("%s[%q]: want valid UTF-8 of at most 4096 bytes", field, k)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
