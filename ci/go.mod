module github.com/sentientos/reliquary/ci

go 1.26.1

replace github.com/sentientos/reliquary => ../
