// Package freeport hands out loopback TCP ports for servers a test or a
// benchmark starts as child processes.
//
// The usual trick, listening on 127.0.0.1:0 and closing the listener,
// returns a port from the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default). Until
// the child binds it, every outgoing connection on the machine (a Kafka
// client, a ClickHouse connection, another test package running in
// parallel) may take that port as its local port, and the child then fails
// with "address already in use": CI failed that way once. Ports here come
// from below the ephemeral range, where the kernel never assigns local
// ports on its own, chosen at random so that test binaries running in
// parallel rarely try the same one, never twice in one process, and each
// checked free by binding it.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Ports the project itself uses at fixed numbers above lowest (the
// scale-out cluster's serve and sink ports, deploy/local/cluster/env.sh)
// are never handed out; its brokers and ClickHouse servers (12181,
// 18123-19199) and the shared stack (8123, 9000, 9092) are below lowest.
var reserved = [][2]int{{24300, 24340}, {29450, 29490}}

const (
	// lowest is the lowest port handed out: above the well-known and
	// most registered service ports.
	lowest = 20000
	// defaultEphemeralLow is Linux's default start of the ephemeral range,
	// used when /proc does not say.
	defaultEphemeralLow = 32768
)

var (
	mu     sync.Mutex
	issued = map[int]bool{}
)

// Port returns a loopback port nobody listens on, outside the kernel's
// ephemeral range, or fails the test.
func Port(tb testing.TB) int {
	tb.Helper()
	p, err := Pick()
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	return p
}

// Addr returns "127.0.0.1:<port>" for a Port.
func Addr(tb testing.TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(Port(tb))
}

// Pick is Port for code without a testing.TB (the benchmarks).
func Pick() (int, error) {
	high := ephemeralLow() - 1
	if high <= lowest {
		return 0, fmt.Errorf("the ephemeral range starts at %d: no room below it for fixed ports", high+1)
	}
	mu.Lock()
	defer mu.Unlock()
	var lastErr error
	for range 200 {
		p := lowest + rand.IntN(high-lowest+1) //nolint:gosec // a port choice, not a secret
		if issued[p] || isReserved(p) {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			lastErr = err
			continue
		}
		if err := ln.Close(); err != nil {
			return 0, fmt.Errorf("close probe listener on %d: %w", p, err)
		}
		issued[p] = true
		return p, nil
	}
	if lastErr == nil {
		lastErr = errors.New("every candidate was taken or reserved")
	}
	return 0, fmt.Errorf("no free port in %d-%d after 200 tries: %w", lowest, high, lastErr)
}

// PickAddr is Addr for code without a testing.TB.
func PickAddr() (string, error) {
	p, err := Pick()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

func isReserved(p int) bool {
	for _, r := range reserved {
		if p >= r[0] && p <= r[1] {
			return true
		}
	}
	return false
}

// ephemeralLow reads the start of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultEphemeralLow
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= 0 {
		return defaultEphemeralLow
	}
	return lo
}
