package build

import (
	"reflect"
	"strings"
	"testing"
)

func TestDefaultName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/tool":          "tool",
		"example.com/tool/v2":       "tool",
		"example.com/tool/v1":       "v1", // v0 and v1 are not major-version suffixes for cmd/go
		"example.com/tool/cmd/v10":  "cmd",
		"example.com/tool/cmd/v01":  "v01",
		"example.com/tool/cmd/tool": "tool",
		"tool":                      "tool",
	} {
		if got := defaultName(in); got != want {
			t.Errorf("defaultName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlatformEnv(t *testing.T) {
	for in, want := range map[string]string{
		"linux/amd64":   "GOOS=linux GOARCH=amd64 GOAMD64=v1",
		"darwin/arm64":  "GOOS=darwin GOARCH=arm64 GOARM64=v8.0",
		"linux/arm/v6":  "GOOS=linux GOARCH=arm GOARM=6",
		"linux/arm":     "GOOS=linux GOARCH=arm GOARM=7",
		"linux/riscv64": "GOOS=linux GOARCH=riscv64",
	} {
		p, err := ParsePlatform(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(platformEnv(p), " "); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
		if p.String() != in {
			t.Errorf("round trip %q -> %q", in, p.String())
		}
	}
	p, _ := ParsePlatform("linux/arm/v7")
	if p.archName() != "armv7" || p.dirName() != "linux_armv7" {
		t.Errorf("arm names: %s %s", p.archName(), p.dirName())
	}
}

func TestBatches(t *testing.T) {
	ts := []Target{
		{Main: "./a/tool", ImportPath: "m/a/tool", Binary: "tool-a"},
		{Main: "./b/tool", ImportPath: "m/b/tool", Binary: "tool-b"},
		{Main: "./c", ImportPath: "m/c", Binary: "c"},
	}
	got := batches(ts)
	want := [][]Target{{ts[0], ts[2]}, {ts[1]}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
}
