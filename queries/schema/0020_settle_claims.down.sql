{{.DropDistributed "settle_claims"}}DROP TABLE IF EXISTS {{.Local "settle_claims"}}{{.OnCluster}}
