package notes_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sentientos/reliquary/pipeline/notes"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want notes.Message
	}{
		{name: "plain feat", raw: "feat: add --json",
			want: notes.Message{Conventional: true, Type: "feat", Description: "add --json"}},
		{name: "scope", raw: "fix(cli): exit 2 on bad flags\n",
			want: notes.Message{Conventional: true, Type: "fix", Scope: "cli", Description: "exit 2 on bad flags"}},
		{name: "type is case-insensitive", raw: "FEAT(Api): x",
			want: notes.Message{Conventional: true, Type: "feat", Scope: "Api", Description: "x"}},
		{name: "bang", raw: "refactor(api)!: rename Verify",
			want: notes.Message{Conventional: true, Type: "refactor", Scope: "api", Breaking: true, Description: "rename Verify"}},
		{name: "breaking footer", raw: "feat: drop Go 1.22\n\nWhy we did it.\n\nBREAKING CHANGE: Go 1.26 is required.\nRefs: #12",
			want: notes.Message{Conventional: true, Type: "feat", Breaking: true, BreakingNote: "Go 1.26 is required.", Description: "drop Go 1.22",
				Body: "Why we did it.", Footers: []notes.Footer{{"BREAKING CHANGE", "Go 1.26 is required."}, {"Refs", "#12"}}}},
		{name: "hash separator", raw: "fix: x\n\nFixes #12",
			want: notes.Message{Conventional: true, Type: "fix", Description: "x", Footers: []notes.Footer{{"Fixes", "12"}}}},
		{name: "breaking hyphen token, multi-line value", raw: "fix: x\n\nBREAKING-CHANGE: first line\nsecond line\n\nthird paragraph\nReviewed-by: Z",
			want: notes.Message{Conventional: true, Type: "fix", Breaking: true, BreakingNote: "first line\nsecond line\n\nthird paragraph", Description: "x",
				Footers: []notes.Footer{{"BREAKING-CHANGE", "first line\nsecond line\n\nthird paragraph"}, {"Reviewed-by", "Z"}}}},
		{name: "lower-case breaking is not the token", raw: "fix: x\n\nbreaking change: maybe",
			want: notes.Message{Conventional: true, Type: "fix", Description: "x", Body: "breaking change: maybe"}},
		{name: "footer right after subject", raw: "fix: x\nSigned-off-by: A <a@b>",
			want: notes.Message{Conventional: true, Type: "fix", Description: "x", Footers: []notes.Footer{{"Signed-off-by", "A <a@b>"}}}},
		{name: "footer-looking line inside body is body", raw: "fix: x\n\nbody\nNote: not a footer",
			want: notes.Message{Conventional: true, Type: "fix", Description: "x", Body: "body\nNote: not a footer"}},
		{name: "missing space after colon", raw: "fix:typo",
			want: notes.Message{Conventional: true, Type: "fix", Description: "typo"}},
		{name: "CRLF", raw: "feat: x\r\n\r\nbody\r\n",
			want: notes.Message{Conventional: true, Type: "feat", Description: "x", Body: "body"}},
		{name: "not conventional", raw: "Update the README\n\nmore words",
			want: notes.Message{Description: "Update the README", Body: "more words"}},
		{name: "merge-style", raw: "Merge pull request #3 from a/b",
			want: notes.Message{Description: "Merge pull request #3 from a/b"}},
		{name: "revert", raw: "Revert \"feat: x\"",
			want: notes.Message{Description: "Revert \"feat: x\""}},
		{name: "empty description", raw: "feat: ",
			want: notes.Message{Description: "feat:"}},
		{name: "space in type", raw: "big feat: x",
			want: notes.Message{Description: "big feat: x"}},
		{name: "non-conventional with breaking footer is still breaking", raw: "Rework config\n\nBREAKING CHANGE: new file format",
			want: notes.Message{Breaking: true, BreakingNote: "new file format", Description: "Rework config",
				Footers: []notes.Footer{{"BREAKING CHANGE", "new file format"}}}},
		{name: "empty", raw: "", want: notes.Message{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notes.ParseMessage(tt.raw)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMessage(%q)\n got  %+v\n want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseMessageLimit(t *testing.T) {
	raw := "feat: big\n\n" + strings.Repeat("é", notes.MaxMessage) + "\n\nBREAKING CHANGE: beyond the limit"
	m := notes.ParseMessage(raw)
	if m.Breaking || !utf8.ValidString(m.Body) || len(m.Body) > notes.MaxMessage {
		t.Errorf("over-long message: breaking %v, body %d bytes, valid UTF-8 %v", m.Breaking, len(m.Body), utf8.ValidString(m.Body))
	}
}

// FuzzParseMessage checks the parser's invariants on any input: no panic, valid UTF-8 in
// gives valid UTF-8 out, a conventional message has a lower-case type and a non-empty
// description taken from its first line, and "breaking" always has a reason.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"feat: x", "fix(scope)!: y\n\nbody\n\nBREAKING CHANGE: z", "Merge branch 'x'", "", "\n\n\n",
		"a(b)(c): d", "feat(: x", "BREAKING CHANGE: only footer", "x\nBREAKING-CHANGE #1\ncont",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m := notes.ParseMessage(raw)
		first, _, _ := strings.Cut(strings.ReplaceAll(raw, "\r\n", "\n"), "\n")
		if m.Conventional {
			if m.Type == "" || m.Type != strings.ToLower(m.Type) || m.Description == "" {
				t.Fatalf("conventional message with type %q, description %q", m.Type, m.Description)
			}
			if !strings.Contains(first, m.Description) {
				t.Fatalf("description %q is not from the subject %q", m.Description, first)
			}
		}
		if m.Breaking && m.BreakingNote == "" && !strings.Contains(first, "!") {
			hasFooter := false
			for _, f := range m.Footers {
				hasFooter = hasFooter || f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE"
			}
			if !hasFooter {
				t.Fatalf("breaking without a reason: %+v", m)
			}
		}
		if utf8.ValidString(raw) && !(utf8.ValidString(m.Description) && utf8.ValidString(m.Body) && utf8.ValidString(m.BreakingNote)) {
			t.Fatalf("invalid UTF-8 out of valid input %q", raw)
		}
	})
}
