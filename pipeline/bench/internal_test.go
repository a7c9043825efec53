package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBinary writes a shell script that stands in for a compiled test binary.
func fakeBinary(t *testing.T, script string) testBinary {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts stand in for test binaries")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "fake.test")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return testBinary{pkg: "example.com/fake", dir: dir, path: path}
}

func TestRunTestBinaryErrors(t *testing.T) {
	printed, err := os.ReadFile("testdata/malformed-print.txt")
	if err != nil {
		t.Fatal(err)
	}
	noisy := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(noisy, printed, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, script string
		want         []string
	}{
		{"benchmark printing to stdout", "cat " + noisy + "\n",
			[]string{"current: example.com/fake (run 2):7", "parsing iteration count"}},
		{"failing benchmark", "echo '--- FAIL: BenchmarkX'\necho '    x_test.go:9: boom'\necho FAIL\nexit 1\n",
			[]string{"current: example.com/fake (run 2)", "exit status 1", "boom"}},
		{"crash on stderr", "echo 'panic: oops' >&2\nexit 2\n",
			[]string{"exit status 2", "panic: oops"}},
		{"flood", "yes BenchmarkX 1 1 ns/op | head -c " + itoa(1<<20+10) + "\n",
			[]string{"larger than the", "example.com/fake"}},
	}
	SetMaxOutput(t, 1<<20)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := fakeBinary(t, tc.script)
			_, err := runTestBinary(context.Background(), b, nil, "current: example.com/fake (run 2)")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// The binary's own package wins over a pkg: line, and the flags are the ones go test uses.
func TestRunTestBinaryArgs(t *testing.T) {
	b := fakeBinary(t, "echo \"args: $*\" >&2\necho 'pkg: other/pkg'\necho \"BenchmarkX-2 10 5 ns/op\"\necho \"$*\" > "+"args.txt\n")
	in := &Input{Bench: "^BenchmarkX$", BenchTime: "20x", CPU: "1,2"}
	out, err := runTestBinary(context.Background(), b, benchArgs(in), "src")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 || out.Results[0].Package != "example.com/fake" {
		t.Fatalf("results %+v", out.Results)
	}
	args, err := os.ReadFile(filepath.Join(b.dir, "args.txt"))
	if err != nil {
		t.Fatal(err) // also shows the binary ran in its package directory
	}
	want := "-test.run=^$ -test.bench=^BenchmarkX$ -test.benchmem -test.count=1 -test.paniconexit0 -test.benchtime=20x -test.cpu=1,2"
	if got := strings.TrimSpace(string(args)); got != want {
		t.Errorf("args %q, want %q", got, want)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if daemonPath != "" {
		os.RemoveAll(filepath.Dir(daemonPath))
	}
	os.Exit(code)
}

var daemonOnce sync.Once
var daemonPath string
var daemonErr error

// daemon builds testdata/benchproj/cmd/daemon once.
func daemon(t *testing.T) string {
	t.Helper()
	daemonOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bench-daemon-")
		if err != nil {
			daemonErr = err
			return
		}
		daemonPath = filepath.Join(dir, "daemon")
		cmd := exec.Command("go", "build", "-trimpath", "-o", daemonPath, "./cmd/daemon")
		cmd.Dir = filepath.Join("testdata", "benchproj")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			daemonErr = err
			t.Logf("%s", out)
		}
	})
	if daemonErr != nil {
		t.Fatal(daemonErr)
	}
	return daemonPath
}

func TestRunCommandErrors(t *testing.T) {
	bin := daemon(t)
	tests := []struct {
		name string
		cmd  Command
		want []string
	}{
		{"never ready", Command{Name: "d", Package: "./d", Args: []string{"-never-ready", "-startup=1ms"}, Ready: "ready", Timeout: 300 * time.Millisecond},
			[]string{"timed out after 300ms", `no line matching "ready"`}},
		{"exits before ready", Command{Name: "d", Package: "./d", Args: []string{"-exit", "-startup=1ms"}, Ready: "ready"},
			[]string{"exited before printing a line matching"}},
		{"fails", Command{Name: "d", Package: "./d", Args: []string{"-fail", "-startup=1ms"}},
			[]string{"exit status 3", "cannot bind"}},
		{"fails before ready", Command{Name: "d", Package: "./d", Args: []string{"-fail", "-startup=1ms"}, Ready: "ready"},
			[]string{"exit status 3", "cannot bind"}},
		{"serves forever", Command{Name: "d", Package: "./d", Args: []string{"-startup=1ms"}, Timeout: 300 * time.Millisecond},
			[]string{"timed out"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCommand(context.Background(), &tc.cmd, invocation{bin: bin, dir: t.TempDir(), source: "current: command d (run 1)"})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, "current: command d (run 1)") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestRunCommandReady(t *testing.T) {
	bin := daemon(t)
	c := Command{Name: "d", Package: "./cmd/daemon", Args: []string{"-startup=50ms"}, Ready: "ready to serve"}
	start := time.Now()
	res, err := runCommand(context.Background(), &c, invocation{bin: bin, dir: t.TempDir(), source: "src"})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("the daemon was not stopped after it was ready: %v", took)
	}
	if res.Name != "d" || res.Package != "command:./cmd/daemon" || res.Values[0].Unit != "sec/op" || res.Values[0].Value < 0.05 {
		t.Fatalf("result %+v", res)
	}
}

func TestExtractTarRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/abs/evil", "a/../../evil", "a\\b"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		body := []byte("x")
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
		tw.Close()
		dest := t.TempDir()
		if err := extractTar(&buf, dest); err == nil || !strings.Contains(err.Error(), "unsafe path") {
			t.Errorf("%q: error %v, want an unsafe path error", name, err)
		}
	}
	// A symlink out of the tree may be created (git stores them), but nothing is written
	// through it.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "link", Linkname: "/tmp", Typeflag: tar.TypeSymlink})
	tw.WriteHeader(&tar.Header{Name: "link/evil", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	if err := extractTar(&buf, t.TempDir()); err == nil {
		t.Error("wrote through a symlink leading out of the tree")
	}
	if _, err := os.Stat("/tmp/evil"); err == nil {
		t.Error("/tmp/evil exists")
	}
}

// A baseline may lack packages and commands added since; the current tree may not.
func TestPrepareMissingOnBaseline(t *testing.T) {
	dir := filepath.Join("testdata", "benchproj")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	in := &Input{
		Packages: []string{"./nope"},
		Commands: []Command{{Name: "gone", Package: "./cmd/gone"}, {Name: "gone2", Package: "./cmd/gone", Args: []string{"-x"}}},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	r := &runner{in: in, tc: newToolchain(""), tmp: t.TempDir()}
	base := &side{label: "baseline v1", dir: dir, work: "baseline", baseline: true}
	if err := r.prepare(context.Background(), base); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	if len(base.bins) != 0 || len(base.cmds) != 2 || base.cmds[0] != "" || base.cmds[1] != "" {
		t.Fatalf("baseline prepared %v and %q", base.bins, base.cmds)
	}
	cur := &side{label: "current", dir: dir, work: "current"}
	if err := r.prepare(context.Background(), cur); err == nil || !strings.Contains(err.Error(), "no package ./nope") {
		t.Fatalf("current: error %v, want one naming ./nope", err)
	}
}

func TestUniqueNameGroups(t *testing.T) {
	pkgs := []testBinary{{name: "a"}, {name: "b"}, {name: "a"}, {name: "a"}, {name: "c"}, {name: "b"}}
	got := fmt.Sprint(uniqueNameGroups(pkgs))
	if want := "[[0 1 4] [2 5] [3]]"; got != want {
		t.Fatalf("groups %s, want %s", got, want)
	}
}

func TestCPUModel(t *testing.T) {
	tests := map[string]string{
		"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC  7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: other\n": "AMD EPYC 7B13 64-Core Processor",
		"processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\n":                                                                           "BCM2835",
		"isa\t: rv64imafdc\nuarch\t: sifive,u74-mc\n":                                                                                        "sifive,u74-mc",
		"":                        "",
		"model name\t:\n":         "",
		"model name\t: \xff\xfeX": "?X",
	}
	for in, want := range tests {
		if got := CPUModel(strings.NewReader(in)); got != want {
			t.Errorf("CPUModel(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCPUModel(f *testing.F) {
	f.Add([]byte("model name\t: AMD EPYC\n"))
	f.Add([]byte("Hardware : x\nmodel name: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := CPUModel(bytes.NewReader(data))
		if strings.ContainsAny(got, "\n\t") || strings.TrimSpace(got) != got {
			t.Fatalf("CPUModel = %q", got)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// A run whose sample count cannot reach Holm's first threshold fails rather than passing a
// gate that could not have failed.
func TestCheckPower(t *testing.T) {
	p, err := NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		correction    string
		family, count int
		ok            bool
	}{
		{CorrectionHolm, 1, 4, true},
		{CorrectionHolm, 40, 6, false}, // 2/C(12,6) = 0.0022 > 0.05/40
		{CorrectionHolm, 40, 7, true},
		{CorrectionHolm, 0, 1, true}, // nothing gated
		{CorrectionNone, 40, 4, true},
	} {
		err := p.checkPower(Gate{Correction: c.correction, Family: c.family}, c.count)
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), "at least 7 samples") {
			t.Errorf("%s, %d comparisons, count %d: %v", c.correction, c.family, c.count, err)
		}
	}
}
