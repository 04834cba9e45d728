{{.DropDistributed "unit_seen_rows"}}DROP TABLE IF EXISTS {{.Local "unit_seen_rows"}}{{.OnCluster}}
