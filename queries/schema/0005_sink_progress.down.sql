{{.DropDistributed "sink_progress"}}DROP TABLE IF EXISTS {{.Local "sink_progress"}}{{.OnCluster}}
