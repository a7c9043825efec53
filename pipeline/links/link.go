// Package links records the release pipeline as in-toto supply-chain metadata: one signed link
// per stage (the files it read and wrote, with digests, and the command that ran) and a signed
// layout saying which steps must have happened and how their files must chain together, so
// that the stock in-toto verifier (in-toto-golang's `in-toto verify`) accepts a release and
// rejects one whose files changed between steps or after the last one.
//
// Contract:
//   - Record builds a Link from typed inputs and validates it: safe slash paths, SHA-256
//     digests, and no environment variable whose name suggests a secret.
//   - Layout describes the expected steps by what they consume and produce; it is compiled
//     into in-toto artifact rules (MATCH what a step consumes with the products of the step
//     that made it, ALLOW only declared outputs, DISALLOW everything else), plus one
//     inspection over the finished bundle that matches every file to the step that produced
//     or consumed it and allows only the layout, link and key files besides.
//   - Write signs every link and the layout with the release key, in in-toto's own signature
//     scheme (ecdsa-sha2-nistp256 over canonical JSON, key id as `in-toto verify -k` computes
//     it), checks the chain it just signed, and writes links/<step>.<keyid8>.link and
//     links/root.layout atomically. The private key never leaves the keys package: signing
//     goes through its crypto.Signer.
//   - Verify is the gate's pure-Go check of a bundle's links against trusted keys. It follows
//     in-toto's verification workflow (in-toto spec v1.0 §5.3) with in-toto-golang's own
//     functions, but never executes a command from the layout: inspections are evaluated over
//     the bundle's files as they are.
package links

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/artifact"
)

// ErrLink is the root of every error about a link's or layout's content.
var ErrLink = errors.New("in-toto links")

// Files maps a slash-separated path to the lowercase hex SHA-256 of its content. Links carry
// SHA-256 only: in-toto compares digest sets for equality, and its inspections record SHA-256
// alone, so a second algorithm would make every match fail.
type Files map[string]string

// FromArtifacts returns the paths and SHA-256 digests of a list of artifacts.
func FromArtifacts(l artifact.List) Files {
	f := make(Files, len(l))
	for _, a := range l {
		f[a.Path] = a.Digest.SHA256
	}
	return f
}

// Link is the record of one step: what it read, what it wrote, and how it ran.
type Link struct {
	Step        string
	Command     []string
	Materials   Files
	Products    Files
	Byproducts  map[string]string // e.g. {"recorded-by": "reliquary attest"}
	Environment map[string]string // only what explains the result (GOOS, CGO_ENABLED): it is published
}

// RecordOption sets an optional part of a link.
type RecordOption func(*Link)

// WithCommand records the command the step ran.
func WithCommand(argv ...string) RecordOption {
	return func(l *Link) { l.Command = append([]string(nil), argv...) }
}

// WithByproducts records what the step reported besides its files.
func WithByproducts(m map[string]string) RecordOption {
	return func(l *Link) { l.Byproducts = copyMap(m) }
}

// WithEnvironment records environment variables that shaped the step's result.
func WithEnvironment(m map[string]string) RecordOption {
	return func(l *Link) { l.Environment = copyMap(m) }
}

// Record makes the link of one step and validates it.
func Record(step string, materials, products Files, opts ...RecordOption) (Link, error) {
	l := Link{Step: step, Materials: copyFiles(materials), Products: copyFiles(products)}
	for _, o := range opts {
		o(&l)
	}
	if err := l.Validate(); err != nil {
		return Link{}, err
	}
	return l, nil
}

// stepName is what a step may be called: it becomes part of a file name and of in-toto's
// link glob (<name>.????????.link), so no dots, slashes or glob characters.
var stepName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// secretName matches environment variable names that must never be published in a link.
var secretName = regexp.MustCompile(`(?i)pass|secret|token|key|credential|auth`)

// Validate checks the link's fields, naming the step and the field at fault.
func (l Link) Validate() error {
	if !stepName.MatchString(l.Step) {
		return fmt.Errorf("%w: step name %q: want lowercase letters, digits, - and _ (at most 64)", ErrLink, l.Step)
	}
	for _, part := range []struct {
		name  string
		files Files
	}{{"materials", l.Materials}, {"products", l.Products}} {
		if err := part.files.validate(); err != nil {
			return fmt.Errorf("%w: step %s: %s: %w", ErrLink, l.Step, part.name, err)
		}
	}
	for _, k := range sortedKeys(l.Environment) {
		if secretName.MatchString(k) {
			return fmt.Errorf("%w: step %s: environment: refusing to publish %s (its name suggests a secret)", ErrLink, l.Step, k)
		}
	}
	return nil
}

func (f Files) validate() error {
	for _, p := range sortedKeys(f) {
		if err := safepath.Check(p); err != nil {
			return err
		}
		if !isHex(f[p], 64) {
			return fmt.Errorf("%s: want a SHA-256 of 64 lowercase hex digits, got %q", p, f[p])
		}
	}
	return nil
}

func copyFiles(f Files) Files {
	out := make(Files, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
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
	return strings.Trim(s, "0123456789abcdef") == ""
}
