package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "version", "")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	mod := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		mod = bi.Main.Path
	}
	fmt.Fprintf(cli.stdout, "reliquary %s (%s, %s, %s/%s)\n", version, mod, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
