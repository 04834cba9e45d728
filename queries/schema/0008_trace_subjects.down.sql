{{.DropDistributed "trace_subjects"}}DROP TABLE IF EXISTS {{.Local "trace_subjects"}}{{.OnCluster}}
