{{.DropDistributed "trace_tagged_tally"}}DROP TABLE IF EXISTS {{.Local "trace_tagged_tally"}}{{.OnCluster}}
