package bench_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, got)
	}
}

func TestTextTable(t *testing.T) {
	golden(t, "table.golden.txt", bench.Text(fixture(t)))
}

func TestMarkdownTable(t *testing.T) {
	golden(t, "table.golden.md", bench.Markdown(fixture(t)))
}

func TestTablesWithoutBaseline(t *testing.T) {
	r := fixture(t)
	r.Baseline, r.Comparisons = nil, nil
	p, _ := bench.NewPolicy()
	r.Gate = p.SkippedGate("no baseline to compare against")
	if _, err := r.Marshal(); err != nil {
		t.Fatal(err)
	}
	golden(t, "table-nobase.golden.txt", bench.Text(r))
	golden(t, "table-nobase.golden.md", bench.Markdown(r))
}

// A benchmark name is the benchmarked project's text: it must not break the Markdown table
// or smuggle in markup.
func TestMarkdownEscapesNames(t *testing.T) {
	r := fixture(t)
	r.Baseline, r.Comparisons = nil, nil
	p, _ := bench.NewPolicy()
	r.Gate = p.SkippedGate("none")
	r.Current.Series = []bench.Series{series("X/a|b<script>*`-2", "sec/op", constant(4, 1))}
	md := bench.Markdown(r)
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| X") {
			continue
		}
		unescaped := strings.Count(line, "|") - strings.Count(line, `\|`)
		if unescaped != 4 {
			t.Fatalf("row has %d cell separators, want 4: %s", unescaped, line)
		}
		if strings.Contains(line, "<script>") || strings.Contains(line, "*`") {
			t.Fatalf("markup not escaped: %s", line)
		}
		return
	}
	t.Fatalf("no row for the benchmark:\n%s", md)
}
