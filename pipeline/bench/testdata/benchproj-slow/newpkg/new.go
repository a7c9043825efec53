// Package newpkg is added by the slow commit: it is not in the baseline.
package newpkg

// Double doubles.
func Double(x int) int { return 2 * x }
