DROP TABLE IF EXISTS {{.DB}}.sink_progress{{.OnCluster}}
