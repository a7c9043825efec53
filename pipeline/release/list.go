package release

// Stage is one stage of a release under its three names: the local runner's (the trail, the
// audit summary, the logs), the CLI command that runs it on its own, and the Dagger module
// function that runs that command in a container.
type Stage struct {
	Name     string // in the local runner's trail
	Command  string // `reliquary COMMAND`
	Function string // the Dagger module's function (dagger call ... FUNCTION)
	Optional bool   // run only when asked (--check-reproducible, --bench)
}

// Stages are a release's stages in the order both runners run them. A stage is defined once,
// in pipeline/; the local runner records each under Name, and the Dagger module's release
// calls each Function, which runs Command. Tests hold both runners to this list, so a stage
// that exists in one runner only fails them.
var Stages = []Stage{
	{Name: "source", Command: "describe", Function: "source"},
	{Name: "freeze", Command: "freeze", Function: "freeze"},
	{Name: "build", Command: "build", Function: "build"},
	{Name: "reproducibility", Command: "reproduce", Function: "reproduce", Optional: true},
	{Name: "bench", Command: "bench", Function: "bench", Optional: true},
	{Name: "digest", Command: "digest", Function: "digest"},
	{Name: "sign", Command: "sign", Function: "sign"},
	{Name: "attest", Command: "attest", Function: "attest"},
	{Name: "notes", Command: "notes", Function: "notes"},
	{Name: "audit", Command: "audit", Function: "audit"},
	{Name: "escrow", Command: "escrow", Function: "escrow"},
	{Name: "verify", Command: "seal", Function: "seal"},
}
