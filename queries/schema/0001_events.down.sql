DROP TABLE IF EXISTS {{.DB}}.events{{.OnCluster}}
