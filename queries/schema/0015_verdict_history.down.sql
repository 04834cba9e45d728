{{.DropDistributed "verdict_history"}}DROP TABLE IF EXISTS {{.Local "verdict_history"}}{{.OnCluster}}
