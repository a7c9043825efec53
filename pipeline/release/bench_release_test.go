package release_test

import (
	"context"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sentientos/reliquary/pipeline/release"
)

// BenchmarkWarmRelease is a warm release of the multi project for two platforms: the Go
// build cache and the binary cache filled by a first release, every iteration a new output
// directory. It is the regression guard for issue 14's warm target (bench/release.sh
// measures the comparison with GoReleaser); it also reports cpu-ms/op, the process's CPU
// time, since wall time on a shared machine follows the load.
func BenchmarkWarmRelease(b *testing.B) {
	src := project(b, "multi")
	k := key(b)
	work := b.TempDir()
	opts := []release.Option{release.WithBinaryCache(filepath.Join(work, "bin")), release.WithGoCache(filepath.Join(work, "gocache"))}
	releaseOnce := func(i int) {
		out := filepath.Join(work, "dist"+strconv.Itoa(i))
		if _, err := release.Run(context.Background(), release.Input{Source: src, Out: out, Version: "v1.0.0", Key: k,
			Platforms: []string{"linux/amd64", "windows/amd64"}}, opts...); err != nil {
			b.Fatal(err)
		}
	}
	releaseOnce(-1) // fills both caches
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		releaseOnce(i)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time so far (user and system) of the process and of the children it
// waited for (git, go list, go build).
func cpuTime(b *testing.B) time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total
}
