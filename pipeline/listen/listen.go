// Package listen holds the one rule every Steadystate listener follows
// before it opens a port: no open door by default.
//
// A listener whose address reaches beyond the loopback interface (any
// address other than 127.0.0.0/8, ::1 or a name that resolves only to
// those; "0.0.0.0", "::" and an empty host mean every interface) must
// require bearer tokens. If it does not, Check refuses it with an error
// that names the listener, the address and the two ways out: configure
// tokens (where the listener supports them) or pass the explicit insecure
// flag (--insecure-listen, or STEADYSTATE_INSECURE=1 in the environment).
//
// Every command that listens calls Check before net.Listen:
//
//	if err := listen.Check(listen.Listener{Name: "ingest OTLP/HTTP", Flag: "--http", Addr: addr,
//		Authenticated: tokens.Enabled(), TokenHint: "set STEADYSTATE_INGEST_TOKENS"}, insecure); err != nil {
//		return err
//	}
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// EnvInsecure, when set to a true value (1, true, yes), allows listeners
// beyond loopback without tokens, like the --insecure-listen flag.
const EnvInsecure = "STEADYSTATE_INSECURE"

// FlagInsecure is the name of the command-line flag with the same effect.
const FlagInsecure = "insecure-listen"

// FlagUsage is the help text of FlagInsecure, shared by the commands.
const FlagUsage = "allow listeners beyond loopback without bearer tokens (anyone who reaches the port can use it; also $" + EnvInsecure + "=1)"

// AddInsecureFlag registers FlagInsecure (default $STEADYSTATE_INSECURE)
// on fl, for every command that listens.
func AddInsecureFlag(fl *pflag.FlagSet, p *bool) {
	fl.BoolVar(p, FlagInsecure, InsecureFromEnv(), FlagUsage)
}

// InsecureFromEnv reports whether EnvInsecure allows open listeners.
func InsecureFromEnv() bool {
	v := strings.TrimSpace(os.Getenv(EnvInsecure))
	if v == "" {
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return strings.EqualFold(v, "yes")
}

// Listener describes one listener for Check.
type Listener struct {
	// Name says what listens, e.g. "ingest OTLP/gRPC".
	Name string
	// Flag is the option that sets the address, e.g. "--grpc".
	Flag string
	// Addr is the host:port it will listen on.
	Addr string
	// Authenticated says that every request must carry a valid token.
	Authenticated bool
	// TokenHint says how to configure tokens for this listener; empty when
	// it has none (then only loopback or the insecure flag remain).
	TokenHint string
}

// ErrOpenDoor is wrapped by Check's refusals.
var ErrOpenDoor = errors.New("refusing to listen beyond loopback without tokens")

// Check returns nil when l may start: it listens on loopback only, or it
// requires tokens, or insecure is true (the operator said so explicitly).
// Otherwise it returns an error wrapping ErrOpenDoor that says why and
// how to fix it. An address that cannot be parsed is an error too.
func Check(l Listener, insecure bool) error {
	if l.Authenticated || insecure {
		return nil
	}
	lo, err := IsLoopback(l.Addr)
	if err != nil {
		return fmt.Errorf("%s %s %q: %w", l.Name, l.Flag, l.Addr, err)
	}
	if lo {
		return nil
	}
	fix := "listen on 127.0.0.1"
	if l.TokenHint != "" {
		fix += ", " + l.TokenHint
	}
	return fmt.Errorf("%s (%s %s): %w: anyone who can reach this address could use it; %s, or pass --%s (or %s=1) to accept that",
		l.Name, l.Flag, l.Addr, ErrOpenDoor, fix, FlagInsecure, EnvInsecure)
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
// An empty host, 0.0.0.0 and :: are every interface; "localhost" and other
// names are resolved and count as loopback only when every address they
// resolve to is.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if i := strings.IndexByte(host, '%'); i >= 0 { // zone of an IPv6 address
		host = host[:i]
	}
	if host == "" {
		return false, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback(), nil
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false, fmt.Errorf("resolve listen host %q: %w", host, err)
	}
	if len(ips) == 0 {
		return false, nil
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return false, nil
		}
	}
	return true, nil
}
