DROP TABLE IF EXISTS {{.Local "trace_cohorts_v2_mv"}}{{.OnCluster}};
{{.DropDistributed "trace_cohorts_v2"}}DROP TABLE IF EXISTS {{.Local "trace_cohorts_v2"}}{{.OnCluster}}
