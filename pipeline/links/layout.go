package links

import (
	"fmt"
	"regexp"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
)

// Fixed names in the layout.
const (
	// InspectionName is the name of the layout's one inspection, over the finished bundle. The
	// stock verifier writes an inspection's link to "<name>.link" in the directory it runs in
	// (the bundle root); the links/ prefix puts that file among the bundle's links, where the
	// gate expects metadata, instead of at the root where it would be an unexpected file.
	InspectionName = "links/inspect-bundle"
	// LinksPattern and KeysPattern are the metadata the inspection allows besides the
	// released files: links, the layout, the inspection's own link, and public keys.
	LinksPattern = "links/*"
	KeysPattern  = "keys/*"
)

// DefaultInspectCommand is what the inspection runs under the stock verifier. The check is in
// the artifact rules over the files recorded around it, so the command itself does nothing.
var DefaultInspectCommand = []string{"true"}

// Input is one kind of file a step consumes: a pattern (in-toto's: * matches across /) and the
// step that produced it. From == "" means the files come from outside the layout (the source
// tree, or artifacts made by a tool that records no link) and are accepted as they are.
type Input struct {
	Pattern string
	From    string
}

// FromStep says a step consumes files matching pattern, exactly as step made them.
func FromStep(pattern, step string) Input { return Input{Pattern: pattern, From: step} }

// External says a step consumes files matching pattern that no step of the layout made.
func External(pattern string) Input { return Input{Pattern: pattern} }

// Step is one expected step of the release.
type Step struct {
	Name    string
	Command []string // the command expected; in-toto only warns when a link's differs
	Inputs  []Input  // every material must match one of these
	Outputs []string // patterns of the files the step may produce; nothing else
}

// Layout is the expected shape of a release: its steps, in order, and what the finished bundle
// may contain.
type Layout struct {
	Steps []Step
	// Require lists bundle paths that must exist when the bundle is inspected (the manifest,
	// its signature), so that deleting one is caught, not only changing it. in-toto checks
	// each against every file: keep the list short.
	Require []string
	// Unlinked lists patterns of files the bundle may hold that no step records, such as
	// files written after the links (release notes, the gate's report).
	Unlinked []string
	// Expires is when the layout stops being valid. Derive it from the release time, not the
	// wall clock, to keep the layout reproducible.
	Expires time.Time
	// InspectCommand is what the stock verifier runs for the inspection (DefaultInspectCommand
	// when empty). reliquary's own Verify never runs it.
	InspectCommand []string
	Readme         string
}

// Validate checks the layout: step names valid and unique, inputs naming earlier steps, and
// every pattern one in-toto accepts.
func (l *Layout) Validate() error {
	if len(l.Steps) == 0 {
		return fmt.Errorf("%w: layout: no steps", ErrLink)
	}
	if l.Expires.IsZero() {
		return fmt.Errorf("%w: layout: expires: not set", ErrLink)
	}
	earlier := map[string]bool{}
	for i, s := range l.Steps {
		if err := s.validate(earlier); err != nil {
			return fmt.Errorf("%w: layout: steps[%d]: %w", ErrLink, i, err)
		}
		earlier[s.Name] = true
	}
	for _, p := range append(append([]string(nil), l.Require...), l.Unlinked...) {
		if err := checkPattern(p); err != nil {
			return fmt.Errorf("%w: layout: %w", ErrLink, err)
		}
	}
	return nil
}

func (s Step) validate(earlier map[string]bool) error {
	if !stepName.MatchString(s.Name) {
		return fmt.Errorf("name %q: want lowercase letters, digits, - and _", s.Name)
	}
	if earlier[s.Name] {
		return fmt.Errorf("name %q: used twice", s.Name)
	}
	for _, in := range s.Inputs {
		if err := checkPattern(in.Pattern); err != nil {
			return fmt.Errorf("%s: input: %w", s.Name, err)
		}
		if in.From != "" && !earlier[in.From] {
			return fmt.Errorf("%s: input %q from %q: not an earlier step", s.Name, in.Pattern, in.From)
		}
	}
	for _, out := range s.Outputs {
		if err := checkPattern(out); err != nil {
			return fmt.Errorf("%s: output: %w", s.Name, err)
		}
	}
	return nil
}

// patternSyntax refuses whitespace (in-toto rules are split on it) and a leading / or ../.
var patternSyntax = regexp.MustCompile(`^[^\s/][^\s]*$`)

func checkPattern(p string) error {
	if !patternSyntax.MatchString(p) || p == ".." || len(p) > 1024 {
		return fmt.Errorf("pattern %q: want a relative path or glob without spaces", p)
	}
	if _, err := intoto.UnpackRule([]string{"ALLOW", p}); err != nil {
		return fmt.Errorf("pattern %q: %w", p, err)
	}
	return nil
}

// compile turns the layout into in-toto's model, with key as the one functionary and owner.
func (l *Layout) compile(key intoto.Key) intoto.Layout {
	out := intoto.Layout{
		Type:    "layout",
		Keys:    map[string]intoto.Key{key.KeyID: key},
		Expires: l.Expires.UTC().Format(intoto.ISO8601DateSchema),
		Readme:  l.Readme,
		Inspect: []intoto.Inspection{l.inspection()},
	}
	for _, s := range l.Steps {
		out.Steps = append(out.Steps, intoto.Step{
			Type:            "step",
			PubKeys:         []string{key.KeyID},
			ExpectedCommand: nonNil(s.Command),
			Threshold:       1,
			SupplyChainItem: intoto.SupplyChainItem{
				Name:              s.Name,
				ExpectedMaterials: materialRules(s),
				ExpectedProducts:  productRules(s),
			},
		})
	}
	return out
}

// materialRules: each input matches the products of its step, or is allowed when external;
// anything else was not expected and fails.
func materialRules(s Step) [][]string {
	var rules [][]string
	for _, in := range s.Inputs {
		if in.From == "" {
			rules = append(rules, []string{"ALLOW", in.Pattern})
		} else {
			rules = append(rules, []string{"MATCH", in.Pattern, "WITH", "PRODUCTS", "FROM", in.From})
		}
	}
	return append(rules, []string{"DISALLOW", "*"})
}

// productRules: a step may record its declared outputs, and its inputs unchanged (a step that
// records a whole directory sees its materials again); nothing else.
func productRules(s Step) [][]string {
	var rules [][]string
	for _, in := range s.Inputs {
		rules = append(rules, []string{"MATCH", in.Pattern, "WITH", "MATERIALS", "FROM", s.Name})
	}
	for _, out := range s.Outputs {
		rules = append(rules, []string{"ALLOW", out})
	}
	return append(rules, []string{"DISALLOW", "*"})
}

// inspection checks the finished bundle: required files present, every file equal to what the
// step that produced it (or, for external inputs, consumed it) recorded, metadata allowed,
// nothing else.
func (l *Layout) inspection() intoto.Inspection {
	var rules [][]string
	for _, p := range l.Require {
		rules = append(rules, []string{"REQUIRE", p})
	}
	for i := len(l.Steps) - 1; i >= 0; i-- { // the last producer of a path wins
		s := l.Steps[i]
		for _, out := range s.Outputs {
			rules = append(rules, []string{"MATCH", out, "WITH", "PRODUCTS", "FROM", s.Name})
		}
	}
	for _, s := range l.Steps {
		for _, in := range s.Inputs {
			if in.From == "" {
				rules = append(rules, []string{"MATCH", in.Pattern, "WITH", "MATERIALS", "FROM", s.Name})
			}
		}
	}
	rules = append(rules, []string{"ALLOW", LinksPattern})
	if !l.produces(KeysPattern) { // else a step's products bind every key file, by name
		rules = append(rules, []string{"ALLOW", KeysPattern})
	}
	for _, p := range l.Unlinked {
		rules = append(rules, []string{"ALLOW", p})
	}
	rules = append(rules, []string{"DISALLOW", "*"})
	run := l.InspectCommand
	if len(run) == 0 {
		run = DefaultInspectCommand
	}
	return intoto.Inspection{
		Type: "inspection",
		Run:  append([]string(nil), run...),
		SupplyChainItem: intoto.SupplyChainItem{
			Name:              InspectionName,
			ExpectedMaterials: rules,
			// The inspection's command changes nothing; what it leaves is not checked again.
			ExpectedProducts: [][]string{{"ALLOW", "*"}},
		},
	}
}

// produces reports whether a step of the layout declares pattern as an output.
func (l *Layout) produces(pattern string) bool {
	for _, s := range l.Steps {
		for _, out := range s.Outputs {
			if out == pattern {
				return true
			}
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string(nil), s...)
}
