package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func baseName(dir string) string { return filepath.Base(filepath.Clean(dir)) }

func joinPath(dir, p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }

// progressPrinter returns a progress callback that redraws one line on the terminal.
func progressPrinter(cli *cliEnv, what string) func(done, total int64) {
	return func(done, total int64) {
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		end := "\r"
		if done >= total {
			end = "\n"
		}
		fmt.Fprintf(cli.stderr, "%s %s / %s (%.0f%%)%s", what, humanBytes(done), humanBytes(total), pct, end)
	}
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f, i = f/1024, i+1
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + " " + units[i]
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
