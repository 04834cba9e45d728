{{.DropDistributed "unit_settled"}}DROP TABLE IF EXISTS {{.Local "unit_settled"}}{{.OnCluster}}
