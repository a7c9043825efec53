package freeze

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Check names one freeze check. Problems carry the check that found them; Allow waives a
// check by name.
type Check string

const (
	CheckGoDirective  Check = "go-directive"    // go.mod has a go line the build toolchain can build
	CheckToolchain    Check = "toolchain"       // the toolchain go.mod pins is a Go release that fetches and checks out
	CheckLocalReplace Check = "local-replace"   // no replace points at a directory outside the source tree
	CheckTidy         Check = "go-mod-tidy"     // go.mod is what `go mod tidy` would write
	CheckSumMissing   Check = "go-sum-missing"  // go.sum has every hash the module needs
	CheckSumExtra     Check = "go-sum-extra"    // go.sum has no hash the module does not need
	CheckDownload     Check = "go-mod-download" // every needed module downloads and matches go.sum
	CheckVerify       Check = "go-mod-verify"   // the module cache matches go.sum
	CheckImage        Check = "image-digest"    // base images are pinned by digest
)

// allowable are the checks a lock may record as waived. A user may waive building against a
// sibling checkout (local-replace) with a real reason. A missing hash, an untidy module or an
// unpinned image is never waivable: each makes the build unrepeatable. Locks made before
// freeze fetched pinned toolchains may record a waived toolchain check (a toolchain line
// the local Go did not match); Allow refuses it now (see WithToolchain).
var allowable = map[Check]bool{CheckLocalReplace: true, CheckToolchain: true}

// Allowable lists the checks Allow accepts.
func Allowable() []Check { return []Check{CheckLocalReplace} }

// Problem is one reason a module is not frozen.
type Problem struct {
	Check   Check  `json:"check"`
	Subject string `json:"subject"` // what is at fault: a module, a go.sum line, a file, an image
	Detail  string `json:"detail"`  // what is wrong and what to do
}

func (p Problem) String() string { return fmt.Sprintf("[%s] %s: %s", p.Check, p.Subject, p.Detail) }

func sortProblems(ps []Problem) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Check != ps[j].Check {
			return ps[i].Check < ps[j].Check
		}
		if ps[i].Subject != ps[j].Subject {
			return ps[i].Subject < ps[j].Subject
		}
		return ps[i].Detail < ps[j].Detail
	})
}

// ErrNotFrozen is matched (errors.Is) by every NotFrozenError.
var ErrNotFrozen = errors.New("dependencies are not frozen")

// NotFrozenError lists every problem found, not just the first.
type NotFrozenError struct {
	Dir      string
	Problems []Problem
}

func (e *NotFrozenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "freeze: %s: %v (%d problem(s)):", e.Dir, ErrNotFrozen, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *NotFrozenError) Is(target error) bool { return target == ErrNotFrozen }

// Has reports whether the error lists a problem of the given check.
func (e *NotFrozenError) Has(c Check) bool {
	for _, p := range e.Problems {
		if p.Check == c {
			return true
		}
	}
	return false
}
