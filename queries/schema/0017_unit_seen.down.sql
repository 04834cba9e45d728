{{.DropDistributed "unit_seen"}}DROP TABLE IF EXISTS {{.Local "unit_seen"}}{{.OnCluster}}
