// Package changelog writes a release's entry in Keep a Changelog 1.1.0 format
// (https://keepachangelog.com/en/1.1.0/) and adds it to a project's CHANGELOG.md.
//
// Contract:
//   - FromHistory maps conventional commit types to the format's sections (Added, Changed,
//     Deprecated, Removed, Fixed, Security); breaking changes are listed first under Changed
//     and marked; non-conventional commits go under Changed rather than being dropped;
//     housekeeping types (chore, ci, test, build, style) are left out unless mapped.
//   - The entry's date is the release commit's, so the same history gives the same bytes.
//   - Prepend inserts the entry above the newest release, below the header and any
//     [Unreleased] section, keeps every existing line, writes the standard header into an
//     empty file, and refuses a version the changelog already has. It does not write files:
//     the caller commits the result.
package changelog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/version"
)

// Section titles, in the order Keep a Changelog lists them.
const (
	Added      = "Added"
	Changed    = "Changed"
	Deprecated = "Deprecated"
	Removed    = "Removed"
	Fixed      = "Fixed"
	Security   = "Security"
)

var order = []string{Added, Changed, Deprecated, Removed, Fixed, Security}

// ErrEntry is the root of errors about an entry's input.
var ErrEntry = errors.New("changelog entry")

// Section is one "### Title" list of an entry.
type Section struct {
	Title string
	Items []string // markdown, one line each
}

// Entry is one release's part of the changelog.
type Entry struct {
	Version  version.Version
	Date     time.Time
	Sections []Section // in Keep a Changelog order; empty sections are left out
}

// Option changes how commit types map to sections.
type Option func(*mapping)

type mapping struct {
	section map[string]string // conventional type -> section title; "" omits the type
}

// MapTypes lists the given conventional types under section (one of Added ... Security).
func MapTypes(section string, types ...string) Option {
	return func(m *mapping) {
		for _, t := range types {
			m.section[strings.ToLower(t)] = section
		}
	}
}

// OmitTypes leaves conventional commits of the given types out. Breaking changes and
// non-conventional commits are never left out.
func OmitTypes(types ...string) Option { return MapTypes("", types...) }

func defaultMapping() mapping {
	return mapping{section: map[string]string{
		"feat": Added, "fix": Fixed, "security": Security,
		"perf": Changed, "refactor": Changed, "docs": Changed, "revert": Changed,
		"deprecate": Deprecated, "remove": Removed,
		"chore": "", "ci": "", "test": "", "build": "", "style": "",
	}}
}

// FromHistory builds the entry for h's version from its changes, in history order.
func FromHistory(h *notes.History, opts ...Option) (Entry, error) {
	if h == nil || h.Version.IsZero() {
		return Entry{}, fmt.Errorf("%w: no history or version", ErrEntry)
	}
	m := defaultMapping()
	for _, o := range opts {
		o(&m)
	}
	for t, s := range m.section {
		if s != "" && !isSection(s) {
			return Entry{}, fmt.Errorf("%w: type %q mapped to unknown section %q (want one of %s)", ErrEntry, t, s, strings.Join(order, ", "))
		}
	}
	items := map[string][]string{}
	var breaking []string
	for _, c := range h.Changes {
		if c.Breaking {
			breaking = append(breaking, breakingItem(c))
			continue
		}
		if s := m.sectionFor(c); s != "" {
			items[s] = append(items[s], item(c))
		}
	}
	items[Changed] = append(breaking, items[Changed]...)
	e := Entry{Version: h.Version, Date: h.Date}
	for _, title := range order {
		if len(items[title]) > 0 {
			e.Sections = append(e.Sections, Section{Title: title, Items: items[title]})
		}
	}
	return e, nil
}

func (m mapping) sectionFor(c notes.Change) string {
	if !c.Conventional {
		return Changed
	}
	if c.Type == "fix" && strings.EqualFold(c.Scope, "security") {
		return Security
	}
	if s, ok := m.section[c.Type]; ok {
		return s
	}
	return Changed
}

func isSection(s string) bool {
	for _, o := range order {
		if s == o {
			return true
		}
	}
	return false
}

func item(c notes.Change) string {
	if c.Conventional && c.Scope != "" {
		return "**" + oneLine(c.Scope) + ":** " + oneLine(c.Description)
	}
	return oneLine(c.Description)
}

func breakingItem(c notes.Change) string {
	s := "**Breaking:** " + item(c)
	if note := oneLine(c.BreakingNote); note != "" {
		s += " (" + note + ")"
	}
	return s
}

// oneLine keeps untrusted commit text on one line and free of raw HTML.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
	return strings.ReplaceAll(s, "<", "&lt;")
}

// Heading is the entry's heading line: "## [1.0.0] - 2025-03-02".
func (e Entry) Heading() string {
	return fmt.Sprintf("## [%s] - %s", e.Version.Semver(), e.Date.UTC().Format("2006-01-02"))
}

// Markdown renders the entry, ending with a newline.
func (e Entry) Markdown() []byte {
	var b strings.Builder
	b.WriteString(e.Heading() + "\n")
	if len(e.Sections) == 0 {
		b.WriteString("\nNo notable changes.\n")
	}
	for _, s := range e.Sections {
		b.WriteString("\n### " + s.Title + "\n\n")
		for _, it := range s.Items {
			b.WriteString("- " + it + "\n")
		}
	}
	return []byte(b.String())
}
