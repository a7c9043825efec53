package audit

import (
	"fmt"
	"strings"
)

// buildRules are the settings a hermetic build records. GOPROXY=off means the go command
// cannot download anything: a build with network access is the privilege that matters most.
var buildRules = []struct {
	key, want string
	severity  Severity
	why       string
}{
	{"GOPROXY", "off", High, "the go command could download modules during the build; it must build offline from the frozen module cache"},
	{"CGO_ENABLED", "0", Medium, "cgo links C code from the build host's toolchain, which the release does not pin"},
}

// checkBuild checks the recorded build commands' settings.
func checkBuild(r *Report, recs []BuildRecord) {
	if recs == nil {
		r.add(Finding{Severity: Low, Check: "build", Subject: "build", Message: "the build's commands are not recorded in this run, so its settings were not checked"})
		return
	}
	before := len(r.Findings)
	for _, rec := range recs {
		env := map[string]string{}
		for _, kv := range rec.Env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		for _, rule := range buildRules {
			got, ok := env[rule.key]
			switch {
			case !ok:
				r.add(Finding{Severity: Low, Check: "build", Subject: rec.Name, Message: fmt.Sprintf("%s is not recorded, so whether the build ran with %s=%s is unknown", rule.key, rule.key, rule.want)})
			case got != rule.want:
				r.add(Finding{Severity: rule.severity, Check: "build", Subject: rec.Name, Message: fmt.Sprintf("ran with %s=%s, not %s: %s", rule.key, got, rule.want, rule.why)})
			}
		}
	}
	if len(r.Findings) == before {
		r.ok("build: %d recorded command(s) ran with GOPROXY=off and CGO_ENABLED=0", len(recs))
	}
}
