module golang.org/x/mod

go 1.23
