{{.DropDistributed "trace_cohorts"}}DROP TABLE IF EXISTS {{.Local "trace_cohorts"}}{{.OnCluster}}
