-- The database, before any migration (`analyze migrate`).
CREATE DATABASE IF NOT EXISTS {{.DB}}{{.OnCluster}}
