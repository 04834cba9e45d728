#!/usr/bin/env python3
"""Writes deploy/compose/grafana/dashboards/game-day.json from the SQL files
in queries/dashboards/ (run from the repository root).

Each panel runs one of those files, rendered for the database "steadystate",
with its @parameters replaced by Grafana's time range and dashboard
variables (GRAF below). queries/dashboard_test.go checks that the JSON
still matches the files, and the SQL cross-check runs the files on
ClickHouse 18.16 and current ClickHouse.
"""
import json,re
GRAF={"since_s":"${__from:date:seconds}","until_s":"${__to:date:seconds}","experiment_id":"'${experiment}'","service":"'${service}'","flow":"'${flow}'","step_s":"${step}"}
def sql(name):
    s=open('queries/dashboards/'+name).read().replace('{{.DB}}','steadystate').strip()
    return re.sub(r'@([a-z_]+)', lambda m: GRAF[m.group(1)], s)
ds={"type":"grafana-clickhouse-datasource","uid":"steadystate-clickhouse"}
def target(name, fmt, qtype):
    return {"refId":"A","datasource":ds,"editorType":"sql","format":fmt,"queryType":qtype,"rawSql":sql(name)}
panels=[]
def ts(id,title,name,field,unit,x,y,w=12,h=8,desc=""):
    panels.append({"id":id,"type":"timeseries","title":title,"description":desc+"SQL: queries/dashboards/"+name,
      "gridPos":{"x":x,"y":y,"w":w,"h":h},"datasource":ds,
      "targets":[target(name,0,"timeseries")],
      "transformations":[{"id":"prepareTimeSeries","options":{"format":"multi"}},{"id":"filterFieldsByName","options":{"include":{"pattern":"time|cohort|"+field}}}],
      "fieldConfig":{"defaults":{"unit":unit},"overrides":[]},"options":{"legend":{"displayMode":"table","placement":"bottom","calcs":["mean","max"]}}})
ts(1,"Error rate by cohort","game_day_cohorts.sql","error_rate","percentunit",0,0,desc="Experiment vs control: the share of page loads that failed, per step. ")
ts(2,"p95 latency by cohort (ms)","game_day_cohorts.sql","p95_ms","ms",12,0,desc="Approximate (t-digest) p95 per cohort. ")
ts(3,"Traffic by cohort","game_day_cohorts.sql","events","short",0,8,desc="Distinct events per step; the experiment cohort should be a few percent of the total. ")
panels.append({"id":4,"type":"barchart","title":"Flow funnel: items per stage","description":"How many items of the flow reached each stage; a drop marks where items get stuck. SQL: queries/dashboards/game_day_flow_stages.sql",
  "gridPos":{"x":12,"y":8,"w":12,"h":8},"datasource":ds,"targets":[target("game_day_flow_stages.sql",1,"table")],
  "fieldConfig":{"defaults":{"unit":"short"},"overrides":[]},"options":{"xField":"stage","orientation":"horizontal","legend":{"showLegend":True}}})
panels.append({"id":5,"type":"table","title":"Alerts received","description":"Alertmanager notifications ingest stored: did the alerts you expected fire? SQL: queries/dashboards/game_day_alerts.sql",
  "gridPos":{"x":0,"y":16,"w":24,"h":8},"datasource":ds,"targets":[target("game_day_alerts.sql",1,"table")],
  "fieldConfig":{"defaults":{},"overrides":[]},"options":{"showHeader":True}})
def sli_ts(id,title,field,unit,x,y,desc,extra=None):
    p={"id":id,"type":"timeseries","title":title,"description":desc+"SQL: queries/dashboards/game_day_verdicts.sql",
      "gridPos":{"x":x,"y":y,"w":12,"h":8},"datasource":ds,
      "targets":[target("game_day_verdicts.sql",0,"timeseries")],
      "transformations":[{"id":"prepareTimeSeries","options":{"format":"multi"}},{"id":"filterFieldsByName","options":{"include":{"pattern":"time|sli|"+field}}}],
      "fieldConfig":{"defaults":{"unit":unit},"overrides":[]},"options":{"legend":{"displayMode":"table","placement":"bottom","calcs":["last"]}}}
    if extra: p["fieldConfig"]["defaults"].update(extra)
    panels.append(p)
sli_ts(6,"Live verdict per SLI (0 pass, 1 inconclusive, 2 fail)","verdict_level","none",0,24,
  "How analyze live's decision evolved, one series per SLI; every look is stored in verdict_history. ",
  {"min":0,"max":2,"custom":{"drawStyle":"line","lineInterpolation":"stepAfter"}})
sli_ts(7,"Anytime-valid p-value per SLI (adjusted)","p_value","none",12,24,
  "The evidence that the experiment cohort is worse, per live look (log scale; below 0.05 means fail). ",
  {"custom":{"scaleDistribution":{"type":"log","log":10}}})
def var(name,label,value,options=None,kind="textbox"):
    v={"name":name,"label":label,"type":kind,"query":value,"current":{"text":value,"value":value},"hide":0}
    if options:
        v["options"]=[{"text":o,"value":o,"selected":o==value} for o in options]
        v["query"]=",".join(options)
    else:
        v["options"]=[{"text":value,"value":value,"selected":True}]
    return v
dash={"uid":"steadystate-game-day","title":"Steadystate game day","tags":["steadystate","chaos"],"timezone":"utc",
  "schemaVersion":39,"version":1,"editable":True,"refresh":"10s","time":{"from":"now-30m","to":"now"},
  "description":"Experiment vs control, flow completeness and alerts during a game day. Every panel's SQL is a file in queries/dashboards/, cross-checked on ClickHouse 18.16 and current releases.",
  "templating":{"list":[var("experiment","Experiment","checkout-payment-500"),var("service","Service ('' = all)","checkout"),
     var("flow","Flow","publish"),var("step","Step (s)","10",["10","30","60","300"],"custom")]},
  "annotations":{"list":[]},"panels":panels}
open('deploy/compose/grafana/dashboards/game-day.json','w').write(json.dumps(dash,indent=2)+"\n")
