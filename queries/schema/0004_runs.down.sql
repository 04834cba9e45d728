{{.DropDistributed "runs"}}DROP TABLE IF EXISTS {{.Local "runs"}}{{.OnCluster}}
