{{.DropDistributed "events"}}DROP TABLE IF EXISTS {{.Local "events"}}{{.OnCluster}}
