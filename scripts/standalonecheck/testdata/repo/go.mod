module example.com/repo

go 1.24

replace example.com/other => ../other
