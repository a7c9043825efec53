package notes

import "strings"

// Group is a heading of the notes and the conventional commit types listed under it.
type Group struct {
	Title string
	Types []string
}

// Grouped is a group's heading with its changes, newest first.
type Grouped struct {
	Title   string
	Changes []Change
}

// Fixed headings, in the order the notes list them. Extra groups (WithGroups) follow
// Security, and OtherTitle comes last.
const (
	BreakingTitle    = "Breaking changes"
	FeaturesTitle    = "Features"
	FixesTitle       = "Bug fixes"
	PerformanceTitle = "Performance"
	SecurityTitle    = "Security"
	OtherTitle       = "Other changes"
)

// GroupOption adjusts how changes are grouped.
type GroupOption func(*grouping)

type grouping struct {
	extra  []Group
	hidden map[string]bool
}

// WithGroups adds headings after Security for the given conventional types (docs, refactor,
// build, ...). Types of the fixed groups (feat, fix, perf, security) stay in those groups.
func WithGroups(groups ...Group) GroupOption {
	return func(g *grouping) { g.extra = append(g.extra, groups...) }
}

// WithHiddenTypes leaves conventional commits of these types (chore, ci, ...) out of the
// notes. Breaking changes and non-conventional commits are never hidden.
func WithHiddenTypes(types ...string) GroupOption {
	return func(g *grouping) {
		for _, t := range types {
			g.hidden[strings.ToLower(t)] = true
		}
	}
}

// GroupChanges sorts changes into headings: breaking changes first, then features, fixes,
// performance and security, then any extra groups, then everything else, non-conventional
// commits included, under OtherTitle. Empty groups are left out; each group keeps the
// changes' order.
func GroupChanges(changes []Change, opts ...GroupOption) []Grouped {
	g := grouping{hidden: map[string]bool{}}
	for _, o := range opts {
		o(&g)
	}
	titles := []string{BreakingTitle, FeaturesTitle, FixesTitle, PerformanceTitle, SecurityTitle}
	byType := map[string]string{"feat": FeaturesTitle, "fix": FixesTitle, "perf": PerformanceTitle, "security": SecurityTitle}
	for _, e := range g.extra {
		titles = append(titles, e.Title)
		for _, t := range e.Types {
			if t = strings.ToLower(t); byType[t] == "" {
				byType[t] = e.Title
			}
		}
	}
	titles = append(titles, OtherTitle)
	buckets := map[string][]Change{}
	for _, c := range changes {
		title, keep := g.classify(c, byType)
		if keep {
			buckets[title] = append(buckets[title], c)
		}
	}
	var out []Grouped
	seen := map[string]bool{}
	for _, t := range titles {
		if len(buckets[t]) > 0 && !seen[t] {
			out = append(out, Grouped{Title: t, Changes: buckets[t]})
		}
		seen[t] = true
	}
	return out
}

func (g grouping) classify(c Change, byType map[string]string) (title string, keep bool) {
	switch {
	case c.Breaking:
		return BreakingTitle, true
	case !c.Conventional:
		return OtherTitle, true
	case g.hidden[c.Type]:
		return "", false
	case c.Type == "fix" && strings.EqualFold(c.Scope, "security"):
		return SecurityTitle, true
	case byType[c.Type] != "":
		return byType[c.Type], true
	}
	return OtherTitle, true
}
