package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// cpuInfoPath is read for the CPU model; a variable so tests can point it elsewhere.
var cpuInfoPath = "/proc/cpuinfo"

// maxCPUInfo bounds the read of /proc/cpuinfo (a 256-core machine writes about 400 KiB).
const maxCPUInfo = 4 << 20

// describeMachine describes this host and the Go toolchain in dir. The CPU model comes from
// /proc/cpuinfo; where there is none, the caller fills it from `go test`'s cpu line.
func describeMachine(ctx context.Context, t *toolchain, dir string) (Machine, error) {
	m := Machine{Cores: runtime.NumCPU()}
	out, err := t.output(ctx, dir, "env", "-json", "GOVERSION", "GOOS", "GOARCH")
	if err != nil {
		return m, err
	}
	var env struct{ GOVERSION, GOOS, GOARCH string }
	if err := json.Unmarshal(out, &env); err != nil {
		return m, fmt.Errorf("bench: go env: %w", err)
	}
	m.GoVersion, m.GOOS, m.GOARCH = env.GOVERSION, env.GOOS, env.GOARCH
	if f, err := os.Open(cpuInfoPath); err == nil {
		m.CPU = CPUModel(io.LimitReader(f, maxCPUInfo))
		f.Close()
	}
	return m, nil
}

// CPUModel returns the processor's model from /proc/cpuinfo content: the first "model name"
// (x86, most others), or else "Hardware", "cpu model" or "uarch" (some ARM, MIPS, RISC-V
// kernels). It returns "" when there is none.
func CPUModel(r io.Reader) string {
	fallback := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.Join(strings.Fields(strings.ToValidUTF8(val, "?")), " ")
		if val == "" {
			continue
		}
		switch key {
		case "model name":
			return val
		case "Hardware", "cpu model", "uarch":
			if fallback == "" {
				fallback = val
			}
		}
	}
	return fallback
}
