// Command uuidapp prints its version and a name-based UUID: a reliquary test project with
// one external module dependency.
package main

import (
	"os"

	"github.com/google/uuid"
)

var version, commit = "dev", "none"

func main() {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/"+version))
	os.Stdout.WriteString("uuidapp " + version + " " + commit + " " + id.String() + "\n")
}
