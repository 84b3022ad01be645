module example.com/fr

go 1.22
