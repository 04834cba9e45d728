{{.DropDistributed "unit_groups_minute"}}DROP TABLE IF EXISTS {{.Local "unit_groups_minute"}}{{.OnCluster}}
