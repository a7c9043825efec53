package hardening_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/replay"
	"github.com/sentientos/reliquary/pipeline/verify"
)

// envDial makes the test binary a tiny client: TestHelperDial dials the address it holds.
// The network tests run it as the positive control that their sandbox and trace are real.
const envDial = "RELIQUARY_HARDENING_DIAL"

// TestHelperDial is not a test: run with envDial set, it dials that TCP address and exits
// 0 if it connected, 3 if not.
func TestHelperDial(t *testing.T) {
	addr := os.Getenv(envDial)
	if addr == "" {
		t.Skip("helper process for the network tests")
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		os.Exit(3)
	}
	conn.Close()
	os.Exit(0)
}

// dialer runs the helper with args before it (a wrapper such as unshare -n or strace).
func dialer(t *testing.T, addr string, wrapper ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(wrapper[1:], self, "-test.run=^TestHelperDial$")
	cmd := exec.Command(wrapper[0], args...)
	cmd.Env = append(os.Environ(), envDial+"="+addr)
	return cmd
}

func listener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// tampered makes a copy of the release with one artifact changed, for runs that must fail.
func tampered(t *testing.T, fx *fixture) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := linkTree(fx.cur, dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, bundle.DepsLockFile)
	os.Remove(p)
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestVerifyInEmptyNetworkNamespace runs `reliquary verify` in a network namespace with no
// usable interface (unshare -n: only a loopback, down). It passes on the release and fails
// on a tampered copy exactly as it does outside.
func TestVerifyInEmptyNetworkNamespace(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed: cannot make a network namespace")
	}
	if out, err := exec.Command(unshare, "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -n is not permitted here (it needs root or user namespaces; CI runs as root): %v %s", err, out)
	}
	fx := getFixture(t)
	addr := listener(t)
	// Control: the helper reaches the listener normally and cannot inside the namespace.
	if err := dialer(t, addr, "env").Run(); err != nil {
		t.Fatalf("control dial outside the namespace failed: %v", err)
	}
	if err := dialer(t, addr, unshare, "-n").Run(); err == nil {
		t.Fatal("the helper connected from inside unshare -n: the namespace does not cut the network")
	}
	for _, tc := range []struct {
		dir  string
		code int
		want string
	}{
		{fx.cur, 0, "VERIFIED multi " + curVersion},
		{tampered(t, fx), 1, "FAIL " + bundle.DepsLockFile},
	} {
		cmd := exec.Command(unshare, "-n", fx.bin, "verify", tc.dir, "--key", fx.pubFile, "--sha512")
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("unshare -n reliquary verify %s: exit %d (want %d), output lacks %q:\n%s", tc.dir, code, tc.code, tc.want, out)
		}
	}
}

// TestVerifyOpensNoSocket traces `reliquary verify` with strace: not one socket or connect
// system call, in any thread or child, on a good or a tampered bundle.
func TestVerifyOpensNoSocket(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (CI: apt-get install -y strace); TestGateAndReplayNeverDial still checks in process")
	}
	fx := getFixture(t)
	trace := func(t *testing.T, env []string, cmd ...string) string {
		t.Helper()
		log := filepath.Join(t.TempDir(), "strace.log")
		full := append([]string{strace, "-f", "-qq", "-e", "trace=socket,connect", "-o", log}, cmd...)
		c := exec.Command(full[0], full[1:]...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil && exitCode(err) != 1 {
			if strings.Contains(string(out), "ptrace") {
				t.Skipf("strace cannot trace here (ptrace not permitted): %s", out)
			}
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	// Control: the trace does see the helper's socket and connect.
	addr := listener(t)
	self, _ := os.Executable()
	if got := trace(t, append(os.Environ(), envDial+"="+addr), self, "-test.run=^TestHelperDial$"); !strings.Contains(got, "socket(") || !strings.Contains(got, "connect(") {
		t.Fatalf("the trace misses the helper's connection:\n%s", got)
	}
	for _, dir := range []string{fx.cur, tampered(t, fx)} {
		got := trace(t, cleanEnv(), fx.bin, "verify", dir, "--key", fx.pubFile, "--sha512", "--json")
		for _, line := range strings.Split(got, "\n") {
			if strings.Contains(line, "socket(") || strings.Contains(line, "connect(") {
				t.Errorf("reliquary verify %s made a network system call: %s", dir, line)
			}
		}
	}
}

// TestGateAndReplayNeverDial replaces the process's resolver and HTTP dialers with ones
// that record any use, then runs the gate and replay's verification path in process.
func TestGateAndReplayNeverDial(t *testing.T) {
	fx := getFixture(t)
	var mu sync.Mutex
	var dials []string
	record := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		dials = append(dials, what)
	}
	errNoNetwork := errors.New("hardening: network use during a verification")
	res := net.DefaultResolver
	tr := http.DefaultTransport.(*http.Transport)
	preferGo, resDial, trDial, trTLS := res.PreferGo, res.Dial, tr.DialContext, tr.DialTLSContext
	t.Cleanup(func() { res.PreferGo, res.Dial, tr.DialContext, tr.DialTLSContext = preferGo, resDial, trDial, trTLS })
	res.PreferGo = true // the Go resolver, whose every query goes through Dial
	res.Dial = func(_ context.Context, network, address string) (net.Conn, error) {
		record("resolver " + network + " " + address)
		return nil, errNoNetwork
	}
	tr.DialContext = func(_ context.Context, network, address string) (net.Conn, error) {
		record("http " + network + " " + address)
		return nil, errNoNetwork
	}
	tr.DialTLSContext = func(_ context.Context, network, address string) (net.Conn, error) {
		record("https " + network + " " + address)
		return nil, errNoNetwork
	}
	// Control: the hooks see a DNS lookup and an HTTP request.
	net.DefaultResolver.LookupHost(context.Background(), "reliquary.invalid")
	http.Get("http://reliquary.invalid/")
	if len(dials) < 2 {
		t.Fatalf("the hooks missed a lookup or a request: %v", dials)
	}
	dials = nil

	ctx := context.Background()
	pub := fx.key.PublicKey()
	if r, err := verify.Run(ctx, fx.cur, verify.WithKeys(pub), verify.WithSHA512()); err != nil || !r.Verified {
		t.Fatalf("gate on the release: %v %+v", err, r)
	}
	if r, err := verify.Run(ctx, tampered(t, fx), verify.WithKeys(pub)); err != nil || r.Verified {
		t.Fatalf("gate on a tampered release: %v verified=%v", err, r.Verified)
	}
	// Replay verifies the bundle and reads the signed provenance before rebuilding; a
	// source directory that does not exist stops it right after, without a build.
	out, err := replay.Run(ctx, replay.Input{Bundle: fx.cur, Source: filepath.Join(t.TempDir(), "no-source"), Keys: []*keys.PublicKey{pub}})
	if err != nil || out.Report == nil || !out.Report.Verified || out.Params.Version != curVersion {
		t.Fatalf("replay: %v %+v", err, out)
	}
	if len(dials) != 0 {
		t.Fatalf("verification used the network: %v", dials)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
