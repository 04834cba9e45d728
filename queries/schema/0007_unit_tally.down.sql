{{.DropDistributed "unit_tally"}}DROP TABLE IF EXISTS {{.Local "unit_tally"}}{{.OnCluster}}
