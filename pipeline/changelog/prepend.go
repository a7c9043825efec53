package changelog

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxChangelog bounds the CHANGELOG.md Prepend reads.
const MaxChangelog = 16 << 20

// Errors of Prepend, for errors.Is.
var (
	ErrExists    = errors.New("changelog already has this version")
	ErrChangelog = errors.New("unusable changelog")
)

// Header is what an empty changelog starts with.
const Header = `# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
`

var (
	// "## [1.0.0] - date", "## v1.0.0", "## [1.0.0](url) (date)", "## Unreleased"
	releaseHeadingRE = regexp.MustCompile(`^##[ \t]+\[?v?([^\]\s()]+)`)
	linkDefRE        = regexp.MustCompile(`^\[[^\]]+\]:\s`)
	fenceRE          = regexp.MustCompile("^ {0,3}(```|~~~)")
)

// Prepend returns existing with e inserted as the newest release: before the first release
// heading, which puts it after the header and after an [Unreleased] section; when there is
// no release yet, after everything but a trailing block of link definitions. An empty
// existing changelog gets the standard Header. The line ending of existing (LF or CRLF) is
// kept.
func Prepend(existing []byte, e Entry) ([]byte, error) {
	if e.Version.IsZero() {
		return nil, fmt.Errorf("%w: no version", ErrEntry)
	}
	if len(existing) > MaxChangelog {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrChangelog, len(existing), MaxChangelog)
	}
	if !utf8.Valid(existing) || bytes.IndexByte(existing, 0) >= 0 {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrChangelog)
	}
	eol := "\n"
	if bytes.Contains(existing, []byte("\r\n")) {
		eol = "\r\n"
	}
	text := strings.ReplaceAll(string(existing), "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		text = Header
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	at, err := insertionLine(lines, e.Version.Semver())
	if err != nil {
		return nil, err
	}
	before := strings.TrimRight(strings.Join(lines[:at], "\n"), "\n")
	after := strings.TrimLeft(strings.Join(lines[at:], "\n"), "\n")
	var b strings.Builder
	if before != "" {
		b.WriteString(before + "\n\n")
	}
	b.Write(e.Markdown())
	if after != "" {
		b.WriteString("\n" + after + "\n")
	}
	return []byte(strings.ReplaceAll(b.String(), "\n", eol)), nil
}

// insertionLine finds where the entry goes and refuses a version already present. Headings
// inside fenced code blocks are not headings.
func insertionLine(lines []string, semver string) (int, error) {
	at := -1
	inFence, fenceLine := "", 0
	for i, l := range lines {
		if m := fenceRE.FindStringSubmatch(l); m != nil {
			switch {
			case inFence == "":
				inFence, fenceLine = m[1], i+1
			case m[1] == inFence:
				inFence = ""
			}
			continue
		}
		if inFence != "" {
			continue
		}
		m := releaseHeadingRE.FindStringSubmatch(l)
		if m == nil || strings.EqualFold(m[1], "unreleased") {
			continue
		}
		if m[1] == semver {
			return 0, fmt.Errorf("%w: line %d: %q (version %s)", ErrExists, i+1, l, semver)
		}
		if at < 0 {
			at = i
		}
	}
	if inFence != "" {
		// Everything after an unclosed fence is code: an entry there would not be a heading.
		return 0, fmt.Errorf("%w: the code block opened on line %d is never closed", ErrChangelog, fenceLine)
	}
	if at >= 0 {
		return at, nil
	}
	end := len(lines)
	for end > 0 && (linkDefRE.MatchString(lines[end-1]) || strings.TrimSpace(lines[end-1]) == "") {
		end--
	}
	if end == 0 {
		return len(lines), nil // only link definitions: the entry goes after them
	}
	return end, nil
}
