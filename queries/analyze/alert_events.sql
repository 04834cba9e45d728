-- Alert notifications (kind 'alert', stored by ingest's Alertmanager
-- receiver) in [since_s, until_s) that belong to the experiment or carry
-- no experiment label (most alerting rules do not know about
-- experiments), each notification once (FINAL collapses retries), in time
-- order. Alert coverage matches them to the experiment's expected alerts.
SELECT
    name,
    severity,
    if(status = 'error', 'firing', 'resolved') AS state,
    event_time_ns,
    toString(cohort) AS cohort,
    attr_values[indexOf(attr_keys, 'alert.fingerprint')] AS fingerprint
FROM {{.DB}}.events FINAL
WHERE kind = 'alert'
  AND experiment_id IN (@experiment_id, '')
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
ORDER BY event_time_ns, name, event_id
