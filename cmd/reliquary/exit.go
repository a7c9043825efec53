package main

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes shared by every command. They are part of the CLI's contract (README: Exit codes).
const (
	exitOK     = 0
	exitFailed = 1 // a gate ran and found problems: verification, reproducibility, benchmarks
	exitUsage  = 2 // bad flags, unreadable or malformed input
)

// cliError carries an exit code across the CLI boundary; every command error is mapped to one.
type cliError struct {
	code int
	err  error
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// usageError marks err as bad input: exit 2.
func usageError(err error) error { return &cliError{code: exitUsage, err: err} }

// usagef formats a bad-input error: exit 2.
func usagef(format string, a ...any) error { return usageError(fmt.Errorf(format, a...)) }

// gateFailed marks err as a failed gate: exit 1.
func gateFailed(err error) error { return &cliError{code: exitFailed, err: err} }

// exitCode prints err (if any) and returns the exit code it carries. Errors without a code
// are input or environment problems (exit 2): a gate that fails must say so explicitly.
func exitCode(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		if ce.err != errSilent {
			fmt.Fprintf(stderr, "reliquary %s: %v\n", name, ce.err)
		}
		return ce.code
	}
	fmt.Fprintf(stderr, "reliquary %s: %v\n", name, err)
	return exitUsage
}

// errSilent is a cliError payload for commands that already printed their report.
var errSilent = errors.New("")
