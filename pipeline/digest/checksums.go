package digest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"

	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/artifact"
)

// MaxChecksumsSize bounds a SHA256SUMS file read from a bundle.
const MaxChecksumsSize = 64 << 20

// ErrChecksums is the root of SHA256SUMS parsing errors.
var ErrChecksums = errors.New("invalid SHA256SUMS")

// Checksums renders the list as `sha256sum` output ("HEX  PATH", text mode), sorted by path.
// Paths are safe paths (no backslash or newline), so no escaping is ever needed.
func Checksums(l artifact.List) []byte {
	c := append(artifact.List(nil), l...)
	c.Sort()
	var buf bytes.Buffer
	for _, a := range c {
		fmt.Fprintf(&buf, "%s  %s\n", a.Digest.SHA256, a.Path)
	}
	return buf.Bytes()
}

// Sum is one line of a SHA256SUMS file.
type Sum struct {
	Path   string
	SHA256 string
}

// ParseChecksums reads a SHA256SUMS file strictly: every line "HEX  PATH" or "HEX *PATH"
// with a safe path, no duplicates, no blank lines in the middle.
func ParseChecksums(data []byte) ([]Sum, error) {
	if len(data) > MaxChecksumsSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit", ErrChecksums, len(data))
	}
	var out []Sum
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 2*safepath.MaxLen)
	for n := 1; sc.Scan(); n++ {
		s, err := parseSumLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrChecksums, n, err)
		}
		if prev, dup := seen[s.Path]; dup {
			return nil, fmt.Errorf("%w: line %d: %s is listed again (first on line %d)", ErrChecksums, n, s.Path, prev)
		}
		seen[s.Path] = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChecksums, err)
	}
	return out, nil
}

func parseSumLine(line string) (Sum, error) {
	if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
		return Sum{}, fmt.Errorf("want \"<64 hex digits>  <path>\", got %.80q", line)
	}
	s := Sum{SHA256: line[:64], Path: line[66:]}
	probe := artifact.Artifact{Path: s.Path, Kind: artifact.KindFile, MediaType: "x", Digest: artifact.Digests{SHA256: s.SHA256}}
	if err := probe.Validate(); err != nil {
		return Sum{}, err
	}
	return s, nil
}
