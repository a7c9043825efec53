package config_test

import (
	"testing"

	"github.com/sentientos/reliquary/pipeline/config"
)

// FuzzParse: any input either parses into a config that validates again, or fails with a
// named error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("project: x\nbuilds:\n  - main: .\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("stamp: {version: main.v}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		for _, b := range c.Builds {
			if _, err := config.CleanMain(b.Main); err != nil {
				t.Fatalf("accepted main %q: %v", b.Main, err)
			}
		}
	})
}
