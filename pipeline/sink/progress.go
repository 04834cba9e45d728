package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/pipeline/bus"
)

// Progress rows (table sink_progress) tell the read side up to which event
// time the pipeline has delivered everything; pipeline/flows turns them
// into the watermark that decides when a flow item may be judged stuck.
// A row claims only what was checked against the brokers:
//
//   - caught_up=1 with updated_ns T: at T (taken before asking) the group's
//     committed offset on the partition had reached the partition's
//     high-water mark. Kafka acknowledges an acks=all record only once it is
//     below the high-water mark, so every record acknowledged before T is
//     stored. Any sink of the group may write this for any partition: it is
//     a statement about the group, not about who owns the partition.
//   - caught_up=0: the partition is behind; max_event_ns is the newest event
//     time this sink committed there. Only the sink holding the partition
//     writes it.
//   - a partition neither caught up nor held by this sink gets a row with
//     updated_ns 0, which never outranks a real row (the read side takes
//     the values of the newest row) but tells the read side the partition
//     exists: with no real row yet it counts as behind with nothing
//     delivered, so no item on it can be judged early.
//
// Every partition of the topic therefore has a row after the first write,
// and a caught-up partition's claim is as old as its own check, never
// borrowed from a busier sibling. Rows are written after each committed
// batch and, while idle, every Heartbeat.

// partitionsTTL is how long the topic's partition list is cached.
const partitionsTTL = 30 * time.Second

// progressClient is the sink's admin connection for progress checks.
func (s *Sink) progressClient() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(s.cfg.Brokers...), Timeout: 5 * time.Second, Transport: s.transport}
}

// topicPartitions returns the events topic's partitions, cached.
func (s *Sink) topicPartitions(ctx context.Context, client *kafka.Client) ([]int, error) {
	if len(s.parts) > 0 && time.Since(s.partsAt) < partitionsTTL {
		return s.parts, nil
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.cfg.Topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of topic %s: %w", s.cfg.Topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != s.cfg.Topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of topic %s: %w", s.cfg.Topic, t.Error)
		}
		parts := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
		s.parts, s.partsAt = parts, time.Now()
		return parts, nil
	}
	return nil, fmt.Errorf("metadata of topic %s: topic not found", s.cfg.Topic)
}

// recordProgress writes one progress row per partition of the topic (see
// the comment at the top of this file). held is the offset of the last record this sink
// read per partition; partitions the group has since moved past (another
// member owns them now) are deleted from it. When the brokers cannot be
// asked, the held partitions are written as behind, which only holds the
// watermark back.
func (s *Sink) recordProgress(ctx context.Context, held map[int]int64) {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	at := time.Now()
	client := s.progressClient()
	parts, err := s.topicPartitions(ctx, client)
	var hwm, committed map[int]int64
	if err == nil {
		hwm, committed, err = bus.Offsets(ctx, client, s.cfg.Topic, s.cfg.Group, parts)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("progress: could not check the partitions against the brokers; reporting them behind", "err", err)
		parts = parts[:0]
		for p := range held {
			parts = append(parts, p)
		}
	}
	s.mu.Lock()
	rows := progressRows(parts, hwm, committed, held, s.maxEvent, at)
	s.mu.Unlock()
	if err := s.writeProgress(ctx, rows); err != nil {
		s.log.Warn("record progress", "err", err)
	}
}

// progressRows decides the row of each partition at check time at, from
// the high-water marks and the group's committed offsets read after at
// (both nil when the brokers could not be asked), the offset of the last record this sink
// read per partition (moved partitions are deleted from held) and the
// newest event time it committed per partition.
func progressRows(parts []int, hwm, committed map[int]int64, held, maxEvent map[int]int64, at time.Time) []progressRow {
	rows := make([]progressRow, 0, len(parts))
	for _, p := range parts {
		last, holds := held[p]
		c, known := committed[p]
		if !known {
			c = -1
			if holds {
				c = last + 1
			}
		}
		if holds && c > last+1 {
			delete(held, p) // moved to another member, which reports it
			holds = false
		}
		r := progressRow{partition: p, committed: c, maxEvent: max(maxEvent[p], 0)}
		switch h, ok := hwm[p]; {
		case ok && h <= max(c, 0):
			r.caught, r.updated = true, at
		case holds:
			r.updated = at
		default:
			r.maxEvent = 0 // a placeholder: updated 0 never outranks a real row
		}
		rows = append(rows, r)
	}
	return rows
}

type progressRow struct {
	partition int
	committed int64
	maxEvent  int64
	caught    bool
	updated   time.Time
}

func (s *Sink) writeProgress(ctx context.Context, rows []progressRow) error {
	if len(rows) == 0 {
		return nil
	}
	pb, err := s.store.Conn.PrepareBatch(ctx, s.progressSQL)
	if err != nil {
		return fmt.Errorf("prepare progress insert: %w", err)
	}
	defer func() { _ = pb.Close() }()
	for _, r := range rows {
		var caught uint8
		var updated uint64
		if r.caught {
			caught = 1
		}
		if !r.updated.IsZero() {
			updated = uint64(r.updated.UnixNano())
		}
		if err := pb.Append(s.cfg.Group, s.cfg.Topic, int32(r.partition), r.committed, uint64(r.maxEvent), caught, updated); err != nil {
			return fmt.Errorf("progress row for %s/%d: %w", s.cfg.Topic, r.partition, err)
		}
	}
	if err := pb.Send(); err != nil {
		return fmt.Errorf("send progress rows: %w", err)
	}
	return nil
}
