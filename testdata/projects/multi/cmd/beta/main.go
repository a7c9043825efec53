// Command beta is one of several main packages of a reliquary test project.
package main

import (
	"os"

	"example.com/multi/internal/greet"
)

var version, commit = "dev", "none"

func main() { os.Stdout.WriteString(greet.Line("beta", version, commit)) }
