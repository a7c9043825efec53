// Package greet is shared by the test project's commands.
package greet

// Line is what every command prints.
func Line(name, version, commit string) string { return name + " " + version + " " + commit + "\n" }
