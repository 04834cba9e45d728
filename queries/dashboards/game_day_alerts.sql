-- Game-day dashboard: alert notifications ingest received (Alertmanager
-- webhooks, stored as kind 'alert') in [since_s, until_s), newest first.
SELECT
    event_time AS time,
    name,
    service,
    severity,
    experiment_id,
    body
FROM {{.DB}}.events
WHERE kind = 'alert'
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
ORDER BY time DESC, event_id
LIMIT 200
