package hardening_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// parsers maps every function that parses untrusted input ("dir.Func", dir relative to the
// module root) to the fuzz target that covers it ("dir.FuzzName"). Exported functions named
// Parse*, Load*, Read*, Decode* or Unmarshal* must all be listed: a new one without a fuzz
// target fails TestEveryParserIsFuzzed. Unexported parsers are listed by hand.
var parsers = map[string]string{
	// manifest, bundle loading, SHA256SUMS
	"pipeline/bundle.ParseManifest":   "pipeline/bundle.FuzzParseManifest",
	"pipeline/bundle.ReadManifest":    "pipeline/bundle.FuzzParseManifest", // a bounded read, then ParseManifest
	"pipeline/digest.ParseChecksums":  "pipeline/digest.FuzzParseChecksums",
	"pipeline/verify.Run":             "internal/hardening.FuzzGate", // the whole bundle, as the gate loads it
	"pipeline/escrow.Read":            "pipeline/escrow.FuzzRead",
	"pipeline/archive.(readers)":      "pipeline/archive.FuzzReaders",
	"pipeline/image.openBase":         "pipeline/image.FuzzOpenBase",
	"internal/strictjson.Decode":      "internal/strictjson.FuzzDecode",
	"internal/safepath.Check":         "internal/safepath.FuzzCheck",
	"pipeline/trust.parse":            "pipeline/trust.FuzzVerify", // Sigstore bundles
	"pipeline/attest.parseStatement":  "pipeline/attest.FuzzCheck", // statements and predicates
	"pipeline/vsa.Parse":              "pipeline/vsa.FuzzParse",
	"pipeline/repro.Check":            "pipeline/repro.FuzzCheck",
	"pipeline/promote.ParseCandidate": "pipeline/promote.FuzzParseCandidate",
	"pipeline/replay.paramsFrom":      "pipeline/replay.FuzzParamsFrom",
	"pipeline/bench.CheckStatement":   "pipeline/bench.FuzzCheckStatement",
	"pipeline/links.loadMetablock":    "pipeline/links.FuzzLoadMetablock", // links and layout
	"pipeline/links.ManifestOf":       "pipeline/links.FuzzManifestOf",    // a layout readme's manifest binding
	"pipeline/config.Parse":           "pipeline/config.FuzzParse",
	"pipeline/config.Load":            "pipeline/config.FuzzParse",   // a bounded read, then Parse
	"pipeline/bench.Parse":            "pipeline/bench.FuzzParse",    // go test -bench output
	"pipeline/bench.Load":             "pipeline/bench.FuzzLoad",     // bench.json
	"pipeline/bench.CPUModel":         "pipeline/bench.FuzzCPUModel", // /proc/cpuinfo
	"pipeline/keys.Load":              "pipeline/keys.FuzzParsePrivate",
	"pipeline/keys.ParsePublic":       "pipeline/keys.FuzzParsePublic",
	"pipeline/keys.LoadPublic":        "pipeline/keys.FuzzParsePublic",
	"pipeline/trust.LoadKeys":         "pipeline/keys.FuzzParsePublic", // each file through keys.LoadPublic
	"pipeline/changelog.Prepend":      "pipeline/changelog.FuzzPrepend",
	"pipeline/release.ReadChangelog":  "pipeline/changelog.FuzzPrepend", // a bounded read; Prepend parses it
	"pipeline/version.Parse":          "pipeline/version.FuzzParse",
	"pipeline/notes.ParseMessage":     "pipeline/notes.FuzzParseMessage",
	"internal/gitlog.parseLog":        "internal/gitlog.FuzzParseLog",
	"pipeline/freeze.ParseLock":       "pipeline/freeze.FuzzParseLock",
	"pipeline/freeze.ReadLock":        "pipeline/freeze.FuzzParseLock", // a bounded read, then ParseLock
	"pipeline/freeze.parseTidyDiff":   "pipeline/freeze.FuzzParseTidyDiff",
	"pipeline/build.ParsePlatform":    "pipeline/build.FuzzParsePlatform",
	"pipeline/audit.ParseDaggerJSON":  "pipeline/audit.FuzzParseDaggerJSON",
	"pipeline/trail.ParseRecord":      "pipeline/trail.FuzzParseRecord",
	"pipeline/trail.ReadRecord":       "pipeline/trail.FuzzParseRecord", // a bounded read, then ParseRecord
	"pipeline/archive.ReadMember":     "pipeline/archive.FuzzReadMember",
	"pipeline/image.ReadBinary":       "pipeline/image.FuzzOpenBase", // openBase, then the layers
	"pipeline/sbom.Parse":             "pipeline/sbom.FuzzParse",
	"pipeline/sbom.BuildInfo":         "pipeline/sbom.FuzzBuildInfo", // a binary from a bundle
	"internal/strictjson.ReadLimited": "-a bounded read: it parses nothing",
	"pipeline/digest.Reader":          "-hashes a stream: it parses nothing",

	// registries (issue 15)
	"pipeline/publish.ParseTarget":         "pipeline/publish.FuzzParseTarget",
	"pipeline/publish.parseBundleManifest": "pipeline/publish.FuzzParseBundleManifest", // a registry's bundle artifact
	"pipeline/publish.provenanceStatement": "pipeline/publish.FuzzProvenanceStatement",
	"pipeline/publish.readLayout":          "pipeline/publish.FuzzLayout", // the image's OCI layout tarball
	"pipeline/publish.parseTopIndex":       "pipeline/publish.FuzzLayout",
}

var parserName = regexp.MustCompile(`^(Parse|Load|Read|Decode|Unmarshal)`)

// TestEveryParserIsFuzzed checks the list above against the code: every exported parser is
// listed, every listed function and fuzz target exists.
func TestEveryParserIsFuzzed(t *testing.T) {
	mod, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	funcs, fuzzers := map[string]bool{}, map[string]bool{}
	for _, top := range []string{"pipeline", "internal"} {
		err := filepath.WalkDir(filepath.Join(mod, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(mod, filepath.Dir(p))
			return declared(p, filepath.ToSlash(rel), funcs, fuzzers)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for name := range funcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fn := name[strings.LastIndex(name, ".")+1:]
		if token.IsExported(fn) && parserName.MatchString(fn) && parsers[name] == "" {
			t.Errorf("%s parses input but has no fuzz target: write a FuzzXxx for it and list it in parsers", name)
		}
	}
	for parser, target := range parsers {
		if !funcs[parser] && !strings.HasSuffix(parser, ".(readers)") {
			t.Errorf("parsers lists %s, which no longer exists", parser)
		}
		if !strings.HasPrefix(target, "-") && !fuzzers[target] {
			t.Errorf("%s: fuzz target %s does not exist", parser, target)
		}
	}
	t.Logf("%d parsers, %d fuzz targets in pipeline/ and internal/", len(parsers), len(fuzzers))
}

// declared records the top-level functions of a Go file: fuzz targets of test files, other
// functions of the rest.
func declared(file, pkg string, funcs, fuzzers map[string]bool) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	test := strings.HasSuffix(file, "_test.go")
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil {
			continue
		}
		switch name := pkg + "." + fd.Name.Name; {
		case test && strings.HasPrefix(fd.Name.Name, "Fuzz"):
			fuzzers[name] = true
		case !test:
			funcs[name] = true
		}
	}
	return nil
}
