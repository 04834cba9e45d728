package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInsertCompression(t *testing.T) {
	for _, tc := range []struct{ flag, addrs, want string }{
		{"auto", "127.0.0.1:9000", "none"},
		{"auto", "localhost:9000,[::1]:9000", "none"},
		{"auto", "127.0.0.1:9000,10.0.0.7:9000", "lz4"},
		{"auto", "clickhouse.internal:9000", "lz4"},
		{"lz4", "127.0.0.1:9000", "lz4"},
		{"none", "10.0.0.7:9000", "none"},
		{"zstd", "127.0.0.1:9000", "zstd"},
	} {
		assert.Equal(t, tc.want, insertCompression(tc.flag, tc.addrs), "%s %s", tc.flag, tc.addrs)
	}
}
