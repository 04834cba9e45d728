package export

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// ErrArrowNeedsFile: the Arrow IPC file format is written with seeks, so
// it cannot go to a stream.
var ErrArrowNeedsFile = errors.New("--format arrow writes a seekable file; use --format arrow-stream with --out -")

// Extension is the file extension of a format.
func Extension(f Format) string {
	return map[Format]string{Parquet: "parquet", Arrow: "arrow", ArrowStream: "arrows"}[f]
}

// WriteFile writes events to path, or to stdout when path is "-". A file
// is written beside its target and renamed at the end, so a failed or
// interrupted export never leaves a truncated file under the name.
// progress, when not nil, is called with the rows written so far.
func WriteFile(path string, stdout io.Writer, format Format, opts Options, events iter.Seq2[*telemetry.Event, error], progress func(rows int64)) (rows int64, err error) {
	var out io.Writer
	var tmp *os.File
	if path == "-" {
		if format == Arrow {
			return 0, ErrArrowNeedsFile
		}
		out = stdout
	} else {
		tmp, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
		if err != nil {
			return 0, fmt.Errorf("create output: %w", err)
		}
		defer func() {
			if tmp != nil {
				_ = tmp.Close()
				_ = os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	w, err := NewWriter(out, format, opts)
	if err != nil {
		return 0, err
	}
	for e, err := range events {
		if err == nil {
			err = w.Append(e)
		}
		if err != nil {
			_ = w.Close()
			return w.Rows(), err
		}
		if progress != nil {
			progress(w.Rows())
		}
	}
	if err := w.Close(); err != nil {
		return w.Rows(), fmt.Errorf("write %s: %w", path, err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return w.Rows(), fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return w.Rows(), fmt.Errorf("write %s: %w", path, err)
		}
		tmp = nil
	}
	return w.Rows(), nil
}
