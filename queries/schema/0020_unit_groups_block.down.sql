{{.DropDistributed "unit_groups_block"}}DROP TABLE IF EXISTS {{.Local "unit_groups_block"}}{{.OnCluster}}
