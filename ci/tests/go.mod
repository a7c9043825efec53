module github.com/sentientos/reliquary/ci/tests

go 1.26.1
