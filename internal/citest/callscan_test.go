package citest_test

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// daggerCmd is one `dagger ... call ...` command found in a file.
type daggerCmd struct {
	line   int      // where it starts
	text   string   // as found, whitespace collapsed
	module string   // -m/--mod, "" for the module of the working directory
	args   []string // after `call`, with -m removed
	opts   checkOpts
	errs   []string // problems reading it (an undefined $VAR standing for flags)
}

// shellToken is a word of a shell command line: its text without quotes, and whether it was
// an operator (; | & ( ) and redirections) or a bare unquoted $NAME.
type shellToken struct {
	text     string
	operator bool
	bareVar  string // NAME when the word is exactly $NAME or ${NAME}, unquoted
}

var bareVarRE = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$`)

// tokenizeShell splits one logical line (continuations already joined) the way a shell
// would, closely enough to find commands and their words: quotes are removed, $(...),
// ${...} and GitHub's ${{ ... }} stay inside their word, # starts a comment.
func tokenizeShell(line string) []shellToken {
	var toks []shellToken
	var word strings.Builder
	inWord, quoted := false, false
	flush := func() {
		if inWord {
			tok := shellToken{text: word.String()}
			if m := bareVarRE.FindStringSubmatch(tok.text); m != nil && !quoted {
				tok.bareVar = m[1] + m[2]
			}
			toks = append(toks, tok)
		}
		word.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			flush()
		case ch == '#' && !inWord:
			return toks // a comment
		case strings.IndexByte(";|&()<>", ch) >= 0:
			flush()
			j := i + 1
			for j < len(line) && strings.IndexByte("|&>", line[j]) >= 0 && j-i < 2 {
				j++
			}
			toks = append(toks, shellToken{text: line[i:j], operator: true})
			i = j - 1
		case ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case ch == '\'' || ch == '"':
			end := closingQuote(line, i)
			word.WriteString(line[i+1 : min(end, len(line))])
			inWord, quoted = true, true
			i = end
		case ch == '$' && i+1 < len(line) && (line[i+1] == '(' || line[i+1] == '{'):
			end := closingExpansion(line, i)
			word.WriteString(line[i:end])
			inWord = true
			i = end - 1
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	flush()
	return toks
}

// closingQuote is the index of the quote closing the one at i, or len(line) when it is not
// closed.
// A double-quoted string may hold $(...) with quotes of its own.
func closingQuote(line string, i int) int {
	q := line[i]
	for j := i + 1; j < len(line); j++ {
		switch {
		case line[j] == q:
			return j
		case q == '"' && line[j] == '\\':
			j++
		case q == '"' && line[j] == '$' && j+1 < len(line) && line[j+1] == '(':
			j = closingExpansion(line, j) - 1
		}
	}
	return len(line)
}

// closingExpansion is the index just after the $(...), ${...} or ${{ ... }} starting at i.
func closingExpansion(line string, i int) int {
	open, shut := line[i+1], byte(')')
	if open == '{' {
		shut = '}'
	}
	depth := 0
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case open:
			depth++
		case shut:
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(line)
}

// joinContinuations joins lines ending in a backslash with the next one, keeping the line
// numbers of where each logical line starts.
func joinContinuations(text string, first int) (lines []string, numbers []int) {
	var cur strings.Builder
	start := first
	for n, l := range strings.Split(text, "\n") {
		if cur.Len() == 0 {
			start = first + n
		}
		trimmed := strings.TrimRight(l, " \t\r")
		if strings.HasSuffix(trimmed, "\\") && !strings.HasSuffix(trimmed, "\\\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines, numbers = append(lines, cur.String()), append(numbers, start)
		cur.Reset()
	}
	if cur.Len() > 0 {
		lines, numbers = append(lines, cur.String()), append(numbers, start)
	}
	return lines, numbers
}

// shellVars are simple assignments of a script (NAME=value, export NAME=value), whose bare
// $NAME may stand for flags in a later command of the same script.
type shellVars map[string][]shellToken

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v shellVars) learn(toks []shellToken) {
	for i, t := range toks {
		if t.text == "export" && i == 0 {
			continue
		}
		name, value, ok := strings.Cut(t.text, "=")
		if !ok || !varNameRE.MatchString(name) || (i > 0 && toks[0].text != "export") {
			return
		}
		v[name] = tokenizeShell(value)
	}
}

// findDaggerCalls finds the `dagger [global flags] call ...` commands of a shell script.
// opts applies to every command found; vars holds the assignments seen so far (a document's
// later code blocks may use a variable an earlier one set).
func findDaggerCalls(text string, firstLine int, opts checkOpts, vars shellVars) []daggerCmd {
	lines, numbers := joinContinuations(text, firstLine)
	var out []daggerCmd
	for n, l := range lines {
		toks := tokenizeShell(l)
		vars.learn(toks)
		for i, t := range toks {
			if t.operator || (t.text != "dagger" && !strings.HasSuffix(t.text, "/dagger")) {
				continue
			}
			if cmd, ok := daggerCall(toks[i+1:], vars); ok {
				cmd.line, cmd.opts = numbers[n], opts
				cmd.text = strings.Join(strings.Fields(l), " ")
				out = append(out, cmd)
			}
		}
	}
	return out
}

// daggerCall reads the words after `dagger` up to the end of the command; ok is false when
// the command is not `call` (dagger check, dagger functions...).
func daggerCall(toks []shellToken, vars shellVars) (daggerCmd, bool) {
	var cmd daggerCmd
	seenCall := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.operator {
			break
		}
		if name, val, hasVal := strings.Cut(t.text, "="); name == "-m" || name == "--mod" {
			if !hasVal && i+1 < len(toks) {
				i++
				val = toks[i].text
			}
			cmd.module = val
			continue
		}
		switch {
		case !seenCall && t.text == "call":
			seenCall = true
		case !seenCall && strings.HasPrefix(t.text, "-"):
			if t.text == "--progress" {
				i++
			}
		case !seenCall:
			return cmd, false
		case t.bareVar != "":
			val, ok := vars[t.bareVar]
			if !ok {
				cmd.errs = append(cmd.errs, "$"+t.bareVar+" stands for arguments but is not set in this script")
			}
			for _, v := range val {
				cmd.args = append(cmd.args, v.text)
			}
		default:
			cmd.args = append(cmd.args, stripOptionalBrackets(t.text))
		}
	}
	return cmd, seenCall
}

// stripOptionalBrackets turns documentation's [--flag=value] into --flag=value.
func stripOptionalBrackets(s string) string {
	if strings.HasPrefix(s, "[-") {
		s = s[1:]
	}
	if strings.HasPrefix(s, "-") && strings.HasSuffix(s, "]") && !strings.Contains(s, "[") {
		s = s[:len(s)-1]
	}
	return s
}

var (
	fenceRE  = regexp.MustCompile("^\\s*(```|~~~)")
	inlineRE = regexp.MustCompile("`([^`]+)`")
)

// markdownCalls finds the commands of a Markdown file: every line of a fenced code block
// (checked fully), and inline code spans in the prose (mentions: checked for functions and
// flags, not for required arguments).
func markdownCalls(text string) []daggerCmd {
	var out []daggerCmd
	lines := strings.Split(text, "\n")
	var block, prose []string
	blockStart, proseStart := 0, 1
	inBlock := false
	vars := shellVars{}
	flushProse := func() {
		joined := strings.Join(prose, "\n")
		for _, m := range inlineRE.FindAllStringSubmatchIndex(joined, -1) {
			span := strings.ReplaceAll(joined[m[2]:m[3]], "\n", " ")
			line := proseStart + strings.Count(joined[:m[0]], "\n")
			out = append(out, findDaggerCalls(span, line, checkOpts{abbreviated: true}, vars)...)
		}
		prose = nil
	}
	for n, l := range lines {
		switch {
		case fenceRE.MatchString(l) && !inBlock:
			flushProse()
			inBlock, block, blockStart = true, nil, n+2
		case fenceRE.MatchString(l):
			out = append(out, findDaggerCalls(strings.Join(block, "\n"), blockStart, checkOpts{}, vars)...)
			inBlock, proseStart = false, n+2
		case inBlock:
			block = append(block, l)
		default:
			prose = append(prose, l)
		}
	}
	flushProse()
	return out
}

// yamlCalls finds the commands of a CI file: every string value holding a `dagger ... call`
// command (GitLab script lines, GitHub run steps, folded >- blocks included), and the `call:`
// input of dagger/dagger-for-github steps, with their `module:`.
func yamlCalls(data []byte) ([]daggerCmd, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var out []daggerCmd
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "dagger") {
			out = append(out, findDaggerCalls(n.Value, n.Line, checkOpts{}, shellVars{})...)
		}
		if n.Kind == yaml.MappingNode {
			out = append(out, actionCall(n)...)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return out, nil
}

// actionCall is the call a dagger/dagger-for-github step makes (with: module, call).
func actionCall(step *yaml.Node) []daggerCmd {
	uses, with := mapValue(step, "uses"), mapValue(step, "with")
	if uses == nil || !strings.HasPrefix(uses.Value, "dagger/dagger-for-github@") || with == nil {
		return nil
	}
	call := mapValue(with, "call")
	if call == nil {
		return nil
	}
	prefix := "dagger call "
	if mod := mapValue(with, "module"); mod != nil {
		prefix = "dagger -m " + mod.Value + " call "
	}
	return findDaggerCalls(prefix+strings.ReplaceAll(call.Value, "\n", " "), call.Line, checkOpts{}, shellVars{})
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
