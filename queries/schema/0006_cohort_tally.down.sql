{{.DropDistributed "cohort_settled"}}DROP TABLE IF EXISTS {{.Local "cohort_settled"}}{{.OnCluster}};
{{.DropDistributed "cohort_tally"}}DROP TABLE IF EXISTS {{.Local "cohort_tally"}}{{.OnCluster}}
