package receive

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll returns the body whatever the declared length says, and the
// reader's error when it fails.
func TestReadAllAnyDeclaredLength(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, declared := range []int64{-1, 0, 1, 511, 9999, 10000, 10001, 20000} {
		for name, r := range map[string]io.Reader{
			"plain":    strings.NewReader(body),
			"one byte": iotest.OneByteReader(strings.NewReader(body)),
			"data+EOF": iotest.DataErrReader(strings.NewReader(body)),
		} {
			got, err := readAll(r, declared)
			require.NoError(t, err, "declared %d, %s", declared, name)
			assert.Equal(t, body, string(got), "declared %d, %s", declared, name)
		}
	}
	boom := errors.New("boom")
	_, err := readAll(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)), 10)
	assert.ErrorIs(t, err, boom)
}
