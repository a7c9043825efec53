package main

import (
	"github.com/sentientos/reliquary/pipeline/build"
)

// binaryCacheFlags choose the binary cache of `release`: on by default, under the user's
// cache directory.
type binaryCacheFlags struct {
	path *string
	off  *bool
}

func addBinaryCacheFlags(fs *flagSet) *binaryCacheFlags {
	return &binaryCacheFlags{
		path: fs.String("binary-cache", "", "directory of linked binaries reused when every build input is the same (default: the user cache directory's reliquary/bin; never read with --check-reproducible)"),
		off:  fs.Bool("no-binary-cache", false, "link every binary, and store none"),
	}
}

// dir is the cache directory, or "" when the cache is off. Without a user cache directory
// (no HOME) the release links every binary: the cache only saves time.
func (f *binaryCacheFlags) dir(cli *cliEnv) string {
	switch {
	case *f.off:
		return ""
	case *f.path != "":
		return *f.path
	}
	d, err := build.DefaultBinaryCache()
	if err != nil {
		cli.log.Info("no binary cache: no user cache directory", "err", err)
		return ""
	}
	return d
}
