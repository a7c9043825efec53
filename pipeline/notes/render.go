package notes

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/version"
)

// ErrDocument is the root of every error about a Document's fields.
var ErrDocument = errors.New("invalid release notes input")

// Limits on the text a Document may carry.
const (
	MaxTitle       = 200
	MaxSectionText = 1 << 20
)

// Document is everything RELEASE_NOTES.md is made from.
type Document struct {
	Project      string        // the heading's project name; optional
	History      *History      // required
	Verification *Verification // nil: the section gives the commands but no digests
	Sections     []Section     // extra sections, in this order within their placement
}

// Placement says where an extra section goes.
type Placement int

const (
	AfterChanges  Placement = iota // between the changes and the Verification section
	BeforeChanges                  // right after the release line, before the changes
)

// Section is an extra section given as markdown: a benchmark table, the reproducibility
// result, a promotion note. Its title is untrusted text and is sanitised; its body is
// written as given.
type Section struct {
	Title     string
	Markdown  string
	Placement Placement
}

// Verification is what the Verification section lists.
type Verification struct {
	Artifacts      artifact.List // the table: name, size, sha256 (sorted by path when rendered)
	ManifestDigest string        // "sha256:" and 64 hex digits: the digest of manifest.json
	KeyFingerprint string        // 64 hex digits: SHA-256 of the public key's PKIX DER
	KeyFile        string        // the key file in the commands; default "release.pub"
	BundleDir      string        // the release directory in the commands; default "dist"
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	hex64RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks the fields that are set; errors name the field.
func (v *Verification) Validate() error {
	if err := v.Artifacts.Validate(); err != nil {
		return fmt.Errorf("%w: verification: %w", ErrDocument, err)
	}
	if v.ManifestDigest != "" && !digestRE.MatchString(v.ManifestDigest) {
		return fmt.Errorf("%w: verification.manifestDigest: want sha256: and 64 lowercase hex digits, got %q", ErrDocument, v.ManifestDigest)
	}
	if v.KeyFingerprint != "" && !hex64RE.MatchString(v.KeyFingerprint) {
		return fmt.Errorf("%w: verification.keyFingerprint: want 64 lowercase hex digits, got %q", ErrDocument, v.KeyFingerprint)
	}
	if strings.ContainsAny(v.KeyFile, "\x00\n\r") || len(v.KeyFile) > 1024 {
		return fmt.Errorf("%w: verification.keyFile: %q is not a usable file name", ErrDocument, v.KeyFile)
	}
	if strings.ContainsAny(v.BundleDir, "\x00\n\r") || len(v.BundleDir) > 1024 {
		return fmt.Errorf("%w: verification.bundleDir: %q is not a usable directory name", ErrDocument, v.BundleDir)
	}
	return nil
}

// Validate checks the document before rendering.
func (d *Document) Validate() error {
	if d.History == nil || d.History.Version.IsZero() || d.History.Commit == "" {
		return fmt.Errorf("%w: history: missing (version and release commit are required)", ErrDocument)
	}
	if len(d.Project) > MaxTitle {
		return fmt.Errorf("%w: project: longer than %d bytes", ErrDocument, MaxTitle)
	}
	for i, s := range d.Sections {
		if strings.TrimSpace(s.Title) == "" || len(s.Title) > MaxTitle {
			return fmt.Errorf("%w: sections[%d].title: want 1 to %d bytes", ErrDocument, i, MaxTitle)
		}
		if len(s.Markdown) > MaxSectionText {
			return fmt.Errorf("%w: sections[%d] (%s): longer than %d bytes", ErrDocument, i, s.Title, MaxSectionText)
		}
		if s.Placement != AfterChanges && s.Placement != BeforeChanges {
			return fmt.Errorf("%w: sections[%d].placement: unknown value %d", ErrDocument, i, s.Placement)
		}
	}
	if d.Verification != nil {
		return d.Verification.Validate()
	}
	return nil
}

// Render returns RELEASE_NOTES.md. The output depends only on the document: the date is the
// release commit's, lists keep the history's order, artifacts are sorted by path.
func Render(d Document, opts ...GroupOption) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	h := d.History
	title := h.Version.String()
	if p := inline(d.Project); p != "" {
		title = p + " " + title
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	writeReleaseLine(&b, h)
	writeSections(&b, d.Sections, BeforeChanges)
	for _, g := range GroupChanges(h.Changes, opts...) {
		writeGroup(&b, g)
	}
	writeSections(&b, d.Sections, AfterChanges)
	writeVerification(&b, d.Verification)
	return []byte(b.String()), nil
}

func writeReleaseLine(b *strings.Builder, h *History) {
	fmt.Fprintf(b, "Released %s from commit `%s`.", h.Date.UTC().Format("2006-01-02"), h.Commit)
	n := len(h.Changes)
	plural := map[bool]string{true: "commit", false: "commits"}[n == 1]
	if h.Previous != "" {
		fmt.Fprintf(b, " %d %s since %s.\n\n", n, plural, h.Previous)
	} else {
		fmt.Fprintf(b, " %d %s.\n\n", n, plural)
	}
	if h.Note != "" {
		fmt.Fprintf(b, "> **Note:** %s\n\n", inline(h.Note))
	}
}

func writeSections(b *strings.Builder, sections []Section, where Placement) {
	for _, s := range sections {
		if s.Placement != where {
			continue
		}
		fmt.Fprintf(b, "## %s\n\n", inline(s.Title))
		if body := strings.TrimSpace(strings.ReplaceAll(s.Markdown, "\r\n", "\n")); body != "" {
			b.WriteString(body + "\n\n")
		}
	}
}

func writeGroup(b *strings.Builder, g Grouped) {
	fmt.Fprintf(b, "## %s\n\n", g.Title)
	for _, c := range g.Changes {
		b.WriteString("- " + itemText(c, g.Title) + " (`" + short(c.Commit) + "`)\n")
		if note := inline(c.BreakingNote); g.Title == BreakingTitle && note != "" {
			b.WriteString("\n  " + note + "\n\n")
		}
	}
	b.WriteString("\n")
}

// itemText is a change's line. Under a type's own heading it is "**scope:** description";
// where headings mix types (breaking, other) the type is kept: "**feat(api):** description";
// a non-conventional commit shows its subject.
func itemText(c Change, title string) string {
	prefix := c.Scope
	if strings.EqualFold(prefix, "security") && title == SecurityTitle {
		prefix = ""
	}
	switch {
	case !c.Conventional:
		return inline(c.Description)
	case title == OtherTitle || title == BreakingTitle:
		prefix = c.Type
		if c.Scope != "" {
			prefix += "(" + c.Scope + ")"
		}
	}
	if prefix == "" {
		return inline(c.Description)
	}
	return "**" + inline(prefix) + ":** " + inline(c.Description)
}

// commandPaths names the files in the verification commands, which run from the directory
// holding both the release directory and the key. The key stays outside the release: the
// gate reports any file the release does not list.
type commandPaths struct{ dir, key string }

func (c commandPaths) in(p string) string { return shellQuote(path.Join(c.dir, p)) }

func writeVerification(b *strings.Builder, v *Verification) {
	if v == nil {
		v = &Verification{}
	}
	c := commandPaths{dir: orDefault(v.BundleDir, "dist"), key: orDefault(v.KeyFile, "release.pub")}
	b.WriteString("## Verification\n\n")
	b.WriteString("Everything below works offline, with only this release's files and the project's public key. " +
		"Run the commands from the directory that holds the release directory " + codeSpan(c.dir) +
		" and the public key " + codeSpan(c.key) + ", obtained from the project rather than from the release.\n\n")
	writeArtifactTable(b, v.Artifacts)
	writeDigests(b, v, c)
	b.WriteString("### With reliquary\n\n")
	b.WriteString(codeBlock("sh", "reliquary verify "+shellQuote(c.dir)+" --key "+shellQuote(c.key)+"\n"))
	b.WriteString("\nThis checks every artifact's digest, the manifest signature, the provenance and the in-toto links in one pass.\n\n")
	writeCosign(b, v.Artifacts.Subjects(), c)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func writeArtifactTable(b *strings.Builder, list artifact.List) {
	if len(list) == 0 {
		b.WriteString("The artifacts and their digests are listed in " + codeSpan(bundle.ManifestFile) + ".\n\n")
		return
	}
	sorted := append(artifact.List(nil), list...)
	sorted.Sort()
	b.WriteString("| Artifact | Size | SHA-256 |\n| --- | ---: | --- |\n")
	for _, a := range sorted {
		fmt.Fprintf(b, "| %s | %s | %s |\n", tableCell(codeSpan(a.Path)), formatSize(a.Size), "`"+a.Digest.SHA256+"`")
	}
	b.WriteString("\n")
}

func writeDigests(b *strings.Builder, v *Verification, c commandPaths) {
	if v.ManifestDigest != "" {
		fmt.Fprintf(b, "- Manifest (%s) digest: `%s`\n", codeSpan(bundle.ManifestFile), v.ManifestDigest)
	}
	if v.KeyFingerprint != "" {
		fmt.Fprintf(b, "- Signing key fingerprint (SHA-256 of the public key's PKIX DER encoding): `%s`\n", v.KeyFingerprint)
	}
	if v.ManifestDigest != "" || v.KeyFingerprint != "" {
		b.WriteString("\n")
	}
	if v.KeyFingerprint != "" {
		b.WriteString("Check that your copy of the key has this fingerprint:\n\n")
		b.WriteString(codeBlock("sh", "openssl pkey -pubin -in "+shellQuote(c.key)+" -outform DER | sha256sum\n"))
		b.WriteString("\n")
	}
}

func writeCosign(b *strings.Builder, subjects artifact.List, c commandPaths) {
	k := shellQuote(c.key)
	b.WriteString("### With cosign\n\n")
	b.WriteString("The manifest signature, then the signed SLSA provenance of each artifact " +
		"(`--insecure-ignore-tlog=true` because the release is signed with a key, offline, without a transparency log entry):\n\n")
	cmds := fmt.Sprintf("cosign verify-blob --bundle %s --key %s --insecure-ignore-tlog=true %s\n",
		c.in(bundle.ManifestSigFile), k, c.in(bundle.ManifestFile))
	sorted := append(artifact.List(nil), subjects...)
	sorted.Sort()
	for _, a := range sorted {
		cmds += fmt.Sprintf("cosign verify-blob-attestation --bundle %s --key %s --insecure-ignore-tlog=true --type slsaprovenance1 %s\n",
			c.in(bundle.ProvenanceFile), k, c.in(a.Path))
	}
	if len(sorted) == 0 {
		cmds += fmt.Sprintf("cosign verify-blob-attestation --bundle %s --key %s --insecure-ignore-tlog=true --type slsaprovenance1 %s\n",
			c.in(bundle.ProvenanceFile), k, c.in(bundle.ArtifactsDir+"/NAME"))
	}
	b.WriteString(codeBlock("sh", cmds))
	if len(sorted) > maxSubjectsPerShard {
		fmt.Fprintf(b, "\nProvenance with more than %d subjects is split: artifacts beyond the first %d are attested in %s.\n",
			maxSubjectsPerShard, maxSubjectsPerShard, codeSpan(strings.Replace(bundle.ProvenanceShard, "%d", "N", 1)))
	}
}

const maxSubjectsPerShard = 1024

func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTP"[exp], n)
}

// PromotionSection is the note a promoted release carries: which candidate it was, that
// nothing was rebuilt, and the digest of the candidate's provenance, so the final release
// can be traced to the build that made its bytes.
func PromotionSection(rc version.Version, rcProvenanceDigest string) (Section, error) {
	if rc.Channel() != version.RC {
		return Section{}, fmt.Errorf("%w: promotion: %s is not a release candidate", ErrDocument, rc)
	}
	if !digestRE.MatchString(rcProvenanceDigest) {
		return Section{}, fmt.Errorf("%w: promotion: provenance digest: want sha256: and 64 lowercase hex digits, got %q", ErrDocument, rcProvenanceDigest)
	}
	md := fmt.Sprintf("This release is %s promoted to %s without a rebuild: every artifact has the same bytes "+
		"and SHA-256 digest as the candidate's. The candidate's provenance (%s) has digest `%s`; "+
		"this release's provenance refers to it.", rc, rc.Core(), codeSpan(bundle.ProvenanceFile), rcProvenanceDigest)
	return Section{Title: "Promoted from " + rc.String(), Markdown: md, Placement: BeforeChanges}, nil
}
