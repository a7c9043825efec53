package bench

import "testing"

// SetMaxOutput lowers the output limit for one test, so the limit is tested without
// producing 32 MiB.
func SetMaxOutput(t testing.TB, n int) {
	old := maxOutput
	maxOutput = n
	t.Cleanup(func() { maxOutput = old })
}
