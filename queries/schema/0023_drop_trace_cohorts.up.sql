-- trace_cohorts (0010) is replaced by trace_cohorts_v2 (0022), which holds
-- its rows and every new one; nothing reads it any more. A migration of its
-- own, after the copy: a run that stops between the two completes without
-- copying from a table already dropped.
{{.DropDistributed "trace_cohorts"}}DROP TABLE IF EXISTS {{.Local "trace_cohorts"}}{{.OnCluster}}
