package notes

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxMessage bounds the part of a commit message that is parsed; the rest is ignored.
const MaxMessage = 64 << 10

// Message is a commit message read by the Conventional Commits 1.0.0 rules
// (https://www.conventionalcommits.org/en/v1.0.0/). A message that does not follow them is
// kept, with Conventional false and its whole subject as the Description.
type Message struct {
	Conventional bool
	Type         string // lower-cased (types are case-insensitive, spec item 15); "" if not conventional
	Scope        string
	Breaking     bool   // "!" before the colon (item 13) or a BREAKING CHANGE footer (items 11-12)
	BreakingNote string // the BREAKING CHANGE footer's text; "" when only "!" marked it
	Description  string // the text after "type(scope): ", or the whole subject
	Body         string
	Footers      []Footer
}

// Footer is one git-trailer style footer: "Token: value" or "Token #value" (items 8-10).
type Footer struct {
	Token string
	Value string
}

var (
	// item 1: a type (a noun), an optional scope in parentheses (item 4), an optional "!",
	// then a colon and the description. The space after the colon is required by the spec;
	// it is accepted missing, because "fix:typo" is still plainly a fix.
	subjectRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]{0,31})(?:\(([^()]{0,64})\))?(!)?:[ \t]*(\S.*)$`)
	// item 9: a token is a word with "-" for spaces, except "BREAKING CHANGE" itself.
	footerRE = regexp.MustCompile(`^(BREAKING CHANGE|BREAKING-CHANGE|[A-Za-z][A-Za-z0-9-]{0,63})(?:: | #)(.*)$`)
)

// ParseMessage parses a raw commit message. It never fails: anything that is not a
// conventional commit is returned as such.
func ParseMessage(raw string) Message {
	raw = truncate(strings.ReplaceAll(raw, "\r\n", "\n"), MaxMessage)
	lines := strings.Split(strings.TrimRight(raw, "\n"), "\n")
	subject := strings.TrimSpace(lines[0])
	m := Message{Description: subject}
	if s := subjectRE.FindStringSubmatch(subject); s != nil {
		m = Message{
			Conventional: true,
			Type:         strings.ToLower(s[1]),
			Scope:        strings.TrimSpace(s[2]),
			Breaking:     s[3] == "!",
			Description:  strings.TrimSpace(s[4]),
		}
	}
	body, footers := splitFooters(lines[1:])
	m.Body = strings.TrimSpace(strings.Join(body, "\n"))
	m.Footers = footers
	for _, f := range footers {
		if f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE" {
			m.Breaking = true
			if m.BreakingNote == "" {
				m.BreakingNote = f.Value
			}
		}
	}
	return m
}

// splitFooters separates the body from the footers. Footers start at the first line that
// looks like a footer and follows a blank line (or the subject itself); from there on, a
// line that does not start a new footer continues the previous one's value (item 10).
func splitFooters(lines []string) (body []string, footers []Footer) {
	start := -1
	for i, l := range lines {
		if footerRE.MatchString(l) && (i == 0 || strings.TrimSpace(lines[i-1]) == "") {
			start = i
			break
		}
	}
	if start < 0 {
		return lines, nil
	}
	for _, l := range lines[start:] {
		if f := footerRE.FindStringSubmatch(l); f != nil {
			footers = append(footers, Footer{Token: f[1], Value: f[2]})
			continue
		}
		last := &footers[len(footers)-1]
		last.Value += "\n" + l
	}
	for i := range footers {
		footers[i].Value = strings.TrimSpace(footers[i].Value)
	}
	return lines[:start], footers
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
