DROP TABLE IF EXISTS {{.DB}}.runs{{.OnCluster}}
