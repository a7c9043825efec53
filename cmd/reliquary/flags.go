package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"
)

// cliEnv is what every command may use: its output streams and the logger built from the
// common flags. Commands write results to stdout and everything else to stderr.
type cliEnv struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// flagSet is a flag.FlagSet that accepts flags before and after positional arguments and
// carries the flags every command shares (--log-format, --quiet).
type flagSet struct {
	*flag.FlagSet
	cli       *cliEnv
	usage     string // the positional part of the usage line, e.g. "DIR"
	logFormat string
	quiet     bool
}

func newFlagSet(cli *cliEnv, name, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), cli: cli, usage: usage}
	fs.SetOutput(cli.stderr)
	fs.StringVar(&fs.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&fs.quiet, "quiet", false, "log only warnings and errors")
	fs.Usage = func() {
		fmt.Fprintf(cli.stderr, "Usage: reliquary %s [flags] %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags anywhere (a "--" ends flag parsing), sets up the logger
// and returns the positional arguments. want is the exact number of positional arguments, or
// -1 for any number.
func (fs *flagSet) parse(args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, usageError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if want >= 0 && len(pos) != want {
		fs.Usage()
		return nil, usagef("want %d argument(s) (%s), got %d", want, fs.usage, len(pos))
	}
	if err := fs.setupLog(); err != nil {
		return nil, err
	}
	return pos, nil
}

func (fs *flagSet) setupLog() error {
	level := slog.LevelInfo
	if fs.quiet {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	switch fs.logFormat {
	case "text":
		fs.cli.log = slog.New(slog.NewTextHandler(fs.cli.stderr, opts))
	case "json":
		fs.cli.log = slog.New(slog.NewJSONHandler(fs.cli.stderr, opts))
	default:
		return usagef("--log-format: want text or json, got %q", fs.logFormat)
	}
	return nil
}

// stringList is a repeatable flag (--key a --key b) that also splits on commas.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// stderrIsTerminal reports whether progress output is wanted: only for a person watching.
func stderrIsTerminal(cli *cliEnv) bool {
	f, ok := cli.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
