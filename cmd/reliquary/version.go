package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// cliVersion is stamped at build time with -ldflags "-X main.cliVersion=v1.2.3".
var cliVersion = "dev"

func runVersion(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "version", "")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	mod := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		mod = bi.Main.Path
	}
	fmt.Fprintf(cli.stdout, "reliquary %s (%s, %s, %s/%s)\n", cliVersion, mod, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
