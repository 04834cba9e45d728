-- `make bench-compare -profile`: write the query log out before reading it.
SYSTEM FLUSH LOGS
