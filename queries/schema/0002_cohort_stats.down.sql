DROP TABLE IF EXISTS {{.DB}}.cohort_stats{{.OnCluster}}
