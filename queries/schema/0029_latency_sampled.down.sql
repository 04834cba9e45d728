{{.DropDistributed "latency_sampled"}}DROP TABLE IF EXISTS {{.Local "latency_sampled"}}{{.OnCluster}}
