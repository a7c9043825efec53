// Package version validates release versions and orders them against a repository's tags.
//
// Contract:
//   - A release version is semver with a leading "v": vMAJOR.MINOR.PATCH, optionally followed
//     by a pre-release of exactly one of the forms -alpha.N, -beta.N or -rc.N. The dot is
//     required so that rc.10 sorts after rc.2 (semver compares "rc10" and "rc2" as text, so
//     rc10 would sort before rc2). Leading zeros, build metadata and other pre-release forms
//     are refused with a message that says why.
//   - Ordering is semver's: alpha < beta < rc < final, and numbers compare as numbers.
//   - Check refuses a version that is not greater than the latest release tag, unless the
//     caller opts out with AllowNotGreaterUnsafe, and always refuses to re-use a tag that
//     points at another commit.
//   - CheckPromotion refuses a final version whose release candidate was never tagged.
//
// The package does no I/O: callers read tags (internal/gitlog) and pass them in.
package version

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	goversion "github.com/hashicorp/go-version"
)

// MaxLen bounds a version string; longer input is refused before parsing.
const MaxLen = 128

// Errors form a tree for errors.Is: every refusal is an ErrInvalid or an ErrOrder.
var (
	ErrInvalid    = errors.New("invalid version")
	ErrNotSemver  = fmt.Errorf("%w: not a vMAJOR.MINOR.PATCH semantic version", ErrInvalid)
	ErrPrerelease = fmt.Errorf("%w: pre-release must be -alpha.N, -beta.N or -rc.N", ErrInvalid)

	ErrOrder       = errors.New("version order")
	ErrNotGreater  = fmt.Errorf("%w: not greater than the latest release", ErrOrder)
	ErrTagConflict = fmt.Errorf("%w: tag already exists at another commit", ErrOrder)
	ErrPromotion   = fmt.Errorf("%w: promotion refused", ErrOrder)
)

// Channel is the pre-release channel of a version; Final has none.
type Channel string

const (
	Alpha Channel = "alpha"
	Beta  Channel = "beta"
	RC    Channel = "rc"
	Final Channel = ""
)

var (
	strict    = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-(alpha|beta|rc)\.(0|[1-9][0-9]*))?$`)
	core      = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)\.([0-9]+)(.*)$`)
	glued     = regexp.MustCompile(`^(alpha|beta|rc)([0-9]+)$`)
	maxNumber = int64(1) << 40 // keeps every component far from int64 overflow in go-version
)

// Version is a validated release version. The zero value is not a valid version.
type Version struct {
	v       *goversion.Version
	channel Channel
	num     int // the N of -rc.N; 0 for a final version
}

// Parse validates s as a release version. The error says what is wrong and how to fix it.
func Parse(s string) (Version, error) {
	if len(s) > MaxLen {
		return Version{}, fmt.Errorf("%w: %d bytes, longer than %d", ErrNotSemver, len(s), MaxLen)
	}
	m := strict.FindStringSubmatch(s)
	if m == nil {
		return Version{}, explain(s)
	}
	for _, part := range []string{m[1], m[2], m[3], m[5]} {
		if n, err := strconv.ParseInt(part, 10, 64); part != "" && (err != nil || n > maxNumber) {
			return Version{}, fmt.Errorf("%w: %q: number %s is too large", ErrNotSemver, s, part)
		}
	}
	v, err := goversion.NewSemver(s)
	if err != nil {
		return Version{}, fmt.Errorf("%w: %q: %v", ErrNotSemver, s, err)
	}
	out := Version{v: v, channel: Channel(m[4])}
	if m[5] != "" {
		out.num, _ = strconv.Atoi(m[5])
	}
	return out, nil
}

// MustParse is Parse for constants in tests and tables; it panics on a bad version.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// explain builds the error for a string the strict grammar refused, naming the first
// problem found so the user knows what to type instead.
func explain(s string) error {
	q := strconv.Quote(s)
	if s == "" {
		return fmt.Errorf("%w: empty", ErrNotSemver)
	}
	m := core.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("%w: %s (want e.g. v1.2.3 or v1.2.3-rc.1)", ErrNotSemver, q)
	}
	if !strings.HasPrefix(s, "v") {
		return fmt.Errorf("%w: %s has no leading \"v\" (want v%s)", ErrNotSemver, q, s)
	}
	for _, n := range m[1:4] {
		if len(n) > 1 && n[0] == '0' {
			return fmt.Errorf("%w: %s: %q has a leading zero, which semver forbids", ErrNotSemver, q, n)
		}
	}
	rest := m[4]
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		return fmt.Errorf("%w: %s: build metadata %q is not allowed in a release tag (semver ignores it when ordering, so two releases could not be told apart)", ErrInvalid, q, rest[i:])
	}
	if !strings.HasPrefix(rest, "-") {
		return fmt.Errorf("%w: %s (want e.g. v1.2.3 or v1.2.3-rc.1)", ErrNotSemver, q)
	}
	pre := rest[1:]
	if g := glued.FindStringSubmatch(pre); g != nil {
		return fmt.Errorf("%w: %s: write %s.%s, not %s: without the dot semver compares the pre-release as text, so %s10 would sort before %s2",
			ErrPrerelease, q, g[1], g[2], pre, g[1], g[1])
	}
	return fmt.Errorf("%w: %s: got pre-release %q", ErrPrerelease, q, pre)
}

// String is the canonical form, e.g. "v1.0.0-rc.1"; it is also the tag name.
func (v Version) String() string {
	if v.v == nil {
		return ""
	}
	return "v" + v.v.String()
}

// Semver is the version without its leading "v", as Keep a Changelog headings write it.
func (v Version) Semver() string { return strings.TrimPrefix(v.String(), "v") }

// IsZero reports whether v is the zero Version (not parsed).
func (v Version) IsZero() bool { return v.v == nil }

// Channel returns the pre-release channel: Alpha, Beta, RC, or Final.
func (v Version) Channel() Channel { return v.channel }

// Number returns the N of a pre-release (-rc.N); 0 for a final version.
func (v Version) Number() int { return v.num }

// IsPrerelease reports whether v is an alpha, beta or release candidate.
func (v Version) IsPrerelease() bool { return v.channel != Final }

// Core returns the final version v is a pre-release of (v1.0.0 for v1.0.0-rc.2).
func (v Version) Core() Version {
	if v.v == nil {
		return v
	}
	return Version{v: v.v.Core()}
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o, by semver precedence.
func (v Version) Compare(o Version) int { return v.v.Compare(o.v) }

// Less reports whether v sorts before o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// Equal reports whether v and o are the same version.
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }
