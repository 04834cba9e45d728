{{.DropDistributed "verdict_changes"}}DROP TABLE IF EXISTS {{.Local "verdict_changes"}}{{.OnCluster}}
