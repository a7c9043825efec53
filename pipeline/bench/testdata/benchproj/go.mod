module example.com/benchproj

go 1.22
