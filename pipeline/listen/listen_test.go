package listen

import (
	"errors"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:4318", true},
		{"127.1.2.3:4318", true},
		{"[::1]:4317", true},
		{"localhost:9464", true},
		{"LOCALHOST:9464", true},
		{":4318", false},
		{"0.0.0.0:4318", false},
		{"[::]:4317", false},
		{"10.0.0.5:4318", false},
		{"192.168.1.1:80", false},
	}
	for _, tt := range tests {
		got, err := IsLoopback(tt.addr)
		if err != nil {
			t.Errorf("IsLoopback(%q): %v", tt.addr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if _, err := IsLoopback("no-port"); err == nil {
		t.Error("IsLoopback(no-port): want an error")
	}
}

func TestCheck(t *testing.T) {
	open := Listener{Name: "ingest OTLP/HTTP", Flag: "--http", Addr: "0.0.0.0:4318", TokenHint: "set STEADYSTATE_INGEST_TOKENS or --token-file"}
	err := Check(open, false)
	if !errors.Is(err, ErrOpenDoor) {
		t.Fatalf("open listener without tokens: got %v, want ErrOpenDoor", err)
	}
	for _, want := range []string{"ingest OTLP/HTTP", "--http 0.0.0.0:4318", "STEADYSTATE_INGEST_TOKENS", "--insecure-listen", "STEADYSTATE_INSECURE=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := Check(open, true); err != nil {
		t.Errorf("insecure flag given: %v", err)
	}
	withTokens := open
	withTokens.Authenticated = true
	if err := Check(withTokens, false); err != nil {
		t.Errorf("tokens configured: %v", err)
	}
	lo := open
	lo.Addr = "127.0.0.1:4318"
	if err := Check(lo, false); err != nil {
		t.Errorf("loopback: %v", err)
	}
	admin := Listener{Name: "ingest admin", Flag: "--admin", Addr: ":9464"}
	if err := Check(admin, false); err == nil || strings.Contains(err.Error(), "set ") {
		t.Errorf("admin without token support: got %v", err)
	}
}

func TestInsecureFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true, "nope": false} {
		t.Setenv(EnvInsecure, v)
		if got := InsecureFromEnv(); got != want {
			t.Errorf("%s=%q: got %v, want %v", EnvInsecure, v, got, want)
		}
	}
}
