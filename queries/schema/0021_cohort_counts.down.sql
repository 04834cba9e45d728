{{.DropDistributed "cohort_counts"}}DROP TABLE IF EXISTS {{.Local "cohort_counts"}}{{.OnCluster}}
