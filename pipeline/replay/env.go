package replay

import (
	"os/exec"
	"strings"

	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/trust"
)

// localGo is the version of the go command on PATH, e.g. "go1.26.8", or "" if unknown.
func localGo() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func verifierFor(pubs []*keys.PublicKey) (*trust.Keys, error) { return trust.NewKeys(pubs...) }
