package main

import (
	"net"
	"strings"
)

// insertCompression resolves the sink's --clickhouse-compression: auto is
// none when every ClickHouse address is on this host (loopback) and lz4
// otherwise; anything else is passed on as given.
//
// On loopback, compressing the insert blocks is pure CPU on both ends:
// BenchmarkInsertCompression (2026-11-30, 50,000-row blocks, 5 runs each,
// shared machine at load 10-27) put the sink's client side of an insert at
// 611 ns CPU per event without compression, 1,018 with lz4 and 1,698 with
// zstd. Over a network the bytes matter: 212 bytes per event as sent
// without compression, 34 with lz4 (the stage's records; real ones with
// random ids compress less), so a sink on another host keeps lz4.
func insertCompression(flag, addrs string) string {
	if flag != "auto" {
		return flag
	}
	for _, a := range strings.Split(addrs, ",") {
		if !loopback(strings.TrimSpace(a)) {
			return "lz4"
		}
	}
	return "none"
}

// loopback reports whether a host:port names this host by a loopback
// address or "localhost".
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
