package promote

import (
	"path"
	"strings"

	"github.com/sentientos/reliquary/pipeline/version"
)

// FinalPath is the bundle path a candidate's artifact gets in the final release: in its
// file name (never its directory), the candidate's version, with or without its leading v,
// becomes the final version wherever it stands as a whole version (NAME_v1.0.0-rc.1_OS_ARCH
// becomes NAME_v1.0.0_OS_ARCH; rc.1 is not mistaken for the start of rc.10). A name
// without the version is kept.
func FinalPath(p string, rc, final version.Version) string {
	dir, name := path.Split(p)
	name = replaceVersion(name, rc.String(), final.String())
	name = replaceVersion(name, rc.Semver(), final.Semver())
	return dir + name
}

// replaceVersion replaces each occurrence of old in s that is not part of a longer word or
// number: not preceded by a letter or digit, and not followed by a letter, a digit, or a
// dot and a digit.
func replaceVersion(s, old, repl string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		if boundaryBefore(s, i) && boundaryAfter(s, end) {
			b.WriteString(s[:i] + repl)
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
}

func boundaryBefore(s string, i int) bool { return i == 0 || !isAlnum(s[i-1]) }

func boundaryAfter(s string, end int) bool {
	switch {
	case end == len(s):
		return true
	case isAlnum(s[end]):
		return false
	case s[end] == '.' && end+1 < len(s) && isDigit(s[end+1]):
		return false
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
