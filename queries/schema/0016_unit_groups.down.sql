{{.DropDistributed "unit_groups"}}DROP TABLE IF EXISTS {{.Local "unit_groups"}}{{.OnCluster}}
