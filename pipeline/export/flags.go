package export

import "github.com/spf13/pflag"

// AddFlags registers `analyze export`'s --format, --out, --untagged and
// --batch-rows (the window's flags are the command's).
func (req *Request) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar((*string)(&req.Format), "format", string(Parquet), "parquet, arrow or arrow-stream")
	fl.StringVar(&req.Path, "out", "", "output file, - for stdout (default: <experiment>-<run>.<format>)")
	fl.BoolVar(&req.Untagged, "untagged", false, "also export untagged traffic (experiment_id '') of the same window")
	fl.IntVar(&req.BatchRows, "batch-rows", DefaultBatchRows, "rows per record batch / Parquet row group")
}
