// Package kafkatest connects integration tests to the Kafka broker that
// `make up` started (or $STEADYSTATE_KAFKA_BROKERS). Each test gets a topic
// of its own. A broker that does not answer fails the test: integration
// tests never skip.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// EnvBrokers lists bootstrap brokers, comma separated.
const EnvBrokers = "STEADYSTATE_KAFKA_BROKERS"

// Brokers returns the bootstrap brokers.
func Brokers() []string {
	if v := os.Getenv(EnvBrokers); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"127.0.0.1:9092"}
}

// Topic creates a uniquely named topic with the given partition count and
// deletes it when the test ends.
func Topic(tb testing.TB, partitions int) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("test.%s.%s", strings.NewReplacer("/", ".", " ", "_").Replace(tb.Name()), hex.EncodeToString(b[:]))
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := CreateTopic(ctx, Brokers(), name, partitions); err != nil {
		tb.Fatalf("Kafka is not usable at %v (start it with `make up`): %v", Brokers(), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = DeleteTopic(ctx, Brokers(), name)
	})
	return name
}

// CreateTopic creates a topic on the controller and waits until its
// partitions have leaders.
func CreateTopic(ctx context.Context, brokers []string, name string, partitions int) error {
	conn, err := controllerConn(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				if p.Leader.ID < 0 || p.Error != nil {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leaders yet: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DeleteTopic deletes a topic.
func DeleteTopic(ctx context.Context, brokers []string, name string) error {
	conn, err := controllerConn(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DeleteTopics(name); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	return nil
}

func controllerConn(ctx context.Context, brokers []string) (*kafka.Conn, error) {
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", brokers[0], err)
	}
	ctrl, err := conn.Controller()
	_ = conn.Close()
	if err != nil {
		return nil, fmt.Errorf("find controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return nil, fmt.Errorf("dial controller: %w", err)
	}
	return cc, nil
}
