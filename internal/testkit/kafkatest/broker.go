package kafkatest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"
)

// Broker is a private single-node KRaft broker for tests that stop and
// start Kafka (the shared broker serves every other test). It runs from the
// jars `make up` resolved.
type Broker struct {
	tb       testing.TB
	dir      string
	Addr     string
	ctrlPort int
	cmd      *exec.Cmd
}

func freePort(tb testing.TB) int {
	tb.Helper()
	return freeport.Port(tb)
}

func kafkaLibs(tb testing.TB) string {
	tb.Helper()
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		dir, err := os.Getwd()
		if err != nil {
			tb.Fatal(err)
		}
		for ; dir != "/"; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
		}
		state = filepath.Join(dir, ".state")
	}
	matches, _ := filepath.Glob(filepath.Join(state, "kafka", "libs-*"))
	if len(matches) == 0 {
		tb.Fatalf("no Kafka jars under %s/kafka (run `make up` first)", state)
	}
	return matches[len(matches)-1]
}

// StartBroker formats and starts a private broker on free loopback ports.
func StartBroker(tb testing.TB) *Broker {
	tb.Helper()
	b := &Broker{tb: tb, dir: tb.TempDir(), ctrlPort: freePort(tb)}
	b.Addr = "127.0.0.1:" + strconv.Itoa(freePort(tb))
	props := fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%d
listeners=PLAINTEXT://%s,CONTROLLER://127.0.0.1:%d
advertised.listeners=PLAINTEXT://%s
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=%s/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
`, b.ctrlPort, b.Addr, b.ctrlPort, b.Addr, b.dir)
	if err := os.WriteFile(filepath.Join(b.dir, "server.properties"), []byte(props), 0o600); err != nil {
		tb.Fatal(err)
	}
	log4j := "log4j.rootLogger=WARN, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\nlog4j.appender.out.layout=org.apache.log4j.PatternLayout\nlog4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
	if err := os.WriteFile(filepath.Join(b.dir, "log4j.properties"), []byte(log4j), 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command("java", b.javaArgs("kafka.tools.StorageTool", "format", "-t", "c3RlYWR5c3RhdGUtdGVzdA", "-c", filepath.Join(b.dir, "server.properties"))...).CombinedOutput()
	if err != nil {
		tb.Fatalf("format private broker: %v\n%s", err, out)
	}
	b.Start()
	tb.Cleanup(b.Stop)
	return b
}

func (b *Broker) javaArgs(main string, args ...string) []string {
	return append([]string{"-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-Dlog4j.configuration=file:" + filepath.Join(b.dir, "log4j.properties"),
		"-cp", filepath.Join(kafkaLibs(b.tb), "*"), main}, args...)
}

// Start starts the broker and waits until it accepts connections.
func (b *Broker) Start() {
	b.tb.Helper()
	logf, err := os.OpenFile(filepath.Join(b.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.tb.Fatal(err)
	}
	b.cmd = exec.Command("java", b.javaArgs("kafka.Kafka", filepath.Join(b.dir, "server.properties"))...)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		b.tb.Fatalf("start private broker: %v", err)
	}
	// A JVM broker starts in ~10 s on an idle 2-core machine and took over
	// 60 s with the rest of the suite running beside it.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	for {
		if err := CreateTopic(ctx, []string{b.Addr}, "__probe", 1); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			data, _ := os.ReadFile(filepath.Join(b.dir, "server.log"))
			b.tb.Fatalf("private broker did not start: %s", tail(string(data), 3000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the broker (SIGTERM, then SIGKILL after 20s). Safe twice.
func (b *Broker) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
