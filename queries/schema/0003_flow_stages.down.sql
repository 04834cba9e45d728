{{.DropDistributed "flow_stages"}}DROP TABLE IF EXISTS {{.Local "flow_stages"}}{{.OnCluster}}
