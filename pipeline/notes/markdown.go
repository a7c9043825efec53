package notes

import (
	"strings"
	"unicode"
)

// inline makes untrusted text (commit messages, titles) safe on one markdown line: control
// characters and line breaks become spaces, runs of spaces collapse, and "<" is escaped so
// a message cannot inject raw HTML. Other markdown (`code`, *emphasis*) is kept on purpose.
func inline(s string) string { return strings.ReplaceAll(oneLine(s), "<", "&lt;") }

// oneLine turns control characters and line breaks into spaces and collapses runs of spaces.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// codeSpan wraps s in a code span whose backtick fence is longer than any run of backticks
// in s, so s cannot end the span early.
func codeSpan(s string) string {
	s = oneLine(s) // code spans show text literally: no HTML escaping needed
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// tableCell escapes the pipe, which ends a cell even inside a code span in GFM tables.
func tableCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// codeBlock fences body (which ends with a newline) with more backticks than it contains.
func codeBlock(lang, body string) string {
	n := max(3, longestRun(body, '`')+1)
	fence := strings.Repeat("`", n)
	return fence + lang + "\n" + body + fence + "\n"
}

func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// shellQuote quotes a word for a POSIX shell, unless it is made only of characters no shell
// treats specially. Artifact names reach copy-and-paste commands this way, so a name cannot
// smuggle a command in, nor pass for an option.
func shellQuote(s string) string {
	if strings.HasPrefix(s, "-") {
		s = "./" + s
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._/+-=:,@%", r)))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
