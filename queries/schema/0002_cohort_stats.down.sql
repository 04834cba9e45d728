{{.DropDistributed "cohort_stats"}}DROP TABLE IF EXISTS {{.Local "cohort_stats"}}{{.OnCluster}}
