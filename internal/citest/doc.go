// Package citest checks, without a container engine, the promises the Dagger module in ci/
// makes: its configuration (dagger.json, ci/go.mod, the test module's dagger.json) is the one
// Dagger v0.21.8 accepts, the engine is given every root package the module imports, no
// hand-written code lives where codegen deletes it, every function and argument is
// documented, secrets are only ever mounted as files and signing is never cached, the CI
// examples run the provenance gate before anything else, and every `dagger call` written in
// the README, docs/ and examples/ exists in ci/ with the flags it passes. CI has no engine: these are the
// parts of the module that can be proved with `go test`. The engine tests are in ci/tests.
//
// The package holds no code besides this comment; its tests read the repository.
package citest
