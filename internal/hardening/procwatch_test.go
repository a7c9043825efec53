package hardening_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// watchReads polls the open files of process pid until stop closes, and returns true as
// soon as one descriptor open on file has read past readLimit. It measures how much a
// verifier reads instead of how long it takes, which a loaded machine would blur.
func watchReads(pid int, file string, stop <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if readPosition(pid, file) > readLimit {
			return true
		}
		select {
		case <-stop:
			return false
		case <-tick.C:
		}
	}
}

// readPosition is the largest offset of any of pid's descriptors open on file (Linux /proc).
func readPosition(pid int, file string) int64 {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return 0
	}
	var pos int64
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err != nil || target != file {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "pos:"); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > pos {
					pos = n
				}
			}
		}
	}
	return pos
}
