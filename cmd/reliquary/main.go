// Command reliquary is the command-line face of the reliquary release pipeline: the same
// stages that `dagger call release` runs in containers, run on a host. Each subcommand is a
// thin layer that turns flags into a pipeline stage's typed options, writes results to stdout
// and logs to stderr, and maps the stage's error to an exit code (see exit.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run receives the arguments after the subcommand's name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, cli *cliEnv, args []string) error
}

// commands is the CLI's whole surface, in the order `reliquary help` lists it. Each run
// function lives in a file of its own named after the command.
var commands = []command{
	{"keygen", "make an ECDSA P-256 signing key pair", runKeygen},
	{"describe", "read a release's source facts from git (commit, remote, time, tags) as JSON", runDescribe},
	{"digest", "write manifest.json and SHA256SUMS for a bundle's artifacts", runDigest},
	{"sign", "sign a bundle's manifest (Sigstore bundle v0.3)", runSign},
	{"attest", "write signed SLSA provenance, in-toto links and layout", runAttest},
	{"verify", "the provenance gate: check digests, signatures and attestations", runVerify},
	{"freeze", "check and record a Go project's dependency set (deps.lock.json)", runFreeze},
	{"build", "build a Go project reproducibly into release artifacts", runBuild},
	{"reproduce", "rebuild from a copy of the source and compare with a build's artifacts", runReproduce},
	{"release", "run the whole pipeline on this host, without a container engine", runRelease},
	{"replay", "rebuild a release from source and compare every artifact", runReplay},
	{"publish", "verify a release, then push it to an OCI registry (image, signatures, bundle)", runPublish},
	{"replicate", "copy a published release between registries, verified at both ends", runReplicate},
	{"promote", "re-issue a verified release candidate under its final version, no rebuild", runPromote},
	{"notes", "write release notes and a CHANGELOG entry from git history", runNotes},
	{"audit", "audit a signed bundle and write audit_summary.md", runAudit},
	{"escrow", "archive and sign a bundle's records for long-term escrow", runEscrow},
	{"seal", "a release's last stage: the gate, then verification.json and the signed summary", runSeal},
	{"bench", "run benchmarks, compare against a baseline, gate on regressions", runBench},
	{"version", "print reliquary's version", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cli := &cliEnv{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		printUsage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(stderr, c.name, c.run(ctx, cli, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "reliquary: unknown command %q (run 'reliquary help')\n", args[0])
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "reliquary: a release pipeline whose output anyone can verify offline")
	fmt.Fprintln(w, "\nUsage: reliquary COMMAND [flags] [args]   (flags may come before or after args)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'reliquary COMMAND --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 verification or gate failed, 2 usage error or unreadable input.")
}

// errHelp is returned by parse when the user asked for --help; it exits 0.
var errHelp = errors.New("help requested")
