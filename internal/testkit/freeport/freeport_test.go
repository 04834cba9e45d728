package freeport

import (
	"net"
	"testing"
)

// TestPortsOutsideEphemeralRange: every port handed out lies below the
// kernel's ephemeral range, is not reserved, is never handed out twice and
// can be bound.
func TestPortsOutsideEphemeralRange(t *testing.T) {
	high := ephemeralLow()
	seen := map[int]bool{}
	for range 300 {
		p := Port(t)
		if p < lowest || p >= high {
			t.Fatalf("port %d outside [%d, %d)", p, lowest, high)
		}
		if isReserved(p) {
			t.Fatalf("port %d is reserved", p)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	ln, err := net.Listen("tcp", Addr(t))
	if err != nil {
		t.Fatalf("bind a handed-out address: %v", err)
	}
	_ = ln.Close()
	if !isReserved(24307+10) || !isReserved(29455+20) {
		t.Fatal("the cluster's serve and sink ports are not reserved")
	}
}
