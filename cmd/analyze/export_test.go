package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/export"
	"github.com/steadystate/steadystate/pipeline/query"
)

func TestExportFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *exportOptions)
	}{
		{name: "defaults", args: []string{"checkout-payment-500"}, check: func(t *testing.T, o *exportOptions) {
			t.Helper()
			assert.Equal(t, "checkout-payment-500", o.ExperimentID)
			assert.Equal(t, export.Parquet, o.Format)
			assert.Equal(t, 65536, o.BatchRows)
			assert.False(t, o.Untagged)
		}},
		{name: "window", args: []string{"x", "--run", "r2", "--since", "1h", "--format", "arrow-stream", "--out", "-", "--untagged"},
			check: func(t *testing.T, o *exportOptions) {
				t.Helper()
				assert.Equal(t, query.WindowFlags{Run: "r2", Since: "1h"}, o.Window)
				assert.Equal(t, "-", o.Path)
				assert.True(t, o.Untagged)
			}},
		{name: "bad format", args: []string{"x", "--format", "csv"}, wantErr: `--format: format "csv": want parquet, arrow or arrow-stream`},
		{name: "bad id", args: []string{"x'y"}, wantErr: "experiment id:"},
		{name: "bad batch", args: []string{"x", "--batch-rows", "0"}, wantErr: "--batch-rows 0: must be positive"},
		{name: "no experiment", args: []string{}, wantErr: "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := cliutil.Test()
			var got *exportOptions
			cmd := newCmdExport(&factory{IO: ios}, func(o *exportOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, got)
		})
	}
}
