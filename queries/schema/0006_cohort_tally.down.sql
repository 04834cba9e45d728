DROP TABLE IF EXISTS {{.DB}}.cohort_settled{{.OnCluster}};
DROP TABLE IF EXISTS {{.DB}}.cohort_tally{{.OnCluster}}
