package receive

import "github.com/spf13/pflag"

// AddFlags registers `ingest serve`'s listen addresses, request cap and
// token file with the config's values as defaults (tokens from the
// environment are the command's: they are kept off the command line).
func (c *Config) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&c.GRPCEndpoint, "grpc", c.GRPCEndpoint, "OTLP/gRPC listen address")
	fl.StringVar(&c.HTTPEndpoint, "http", c.HTTPEndpoint, "OTLP/HTTP and JSON events listen address")
	fl.Int64Var(&c.MaxRequestBytes, "max-request-bytes", c.MaxRequestBytes, "request body cap after decompression")
	fl.StringVar(&c.TokenFile, "token-file", "", "file of accepted bearer tokens, one per line")
}
