DROP TABLE IF EXISTS {{.DB}}.flow_stages{{.OnCluster}}
