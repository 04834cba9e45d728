// Package tag converts OTLP traces and logs (pdata) and structured JSON
// events into telemetry.Event rows, and stamps experiment, cohort and flow
// on them. It does no I/O; the receiver (cmd/ingest) feeds it requests and
// produces the events it returns.
//
// A Tagger is built once from a Config and the experiment definitions
// (experiment.Spec) and is safe for concurrent use. Traces, Logs and
// JSONEvents return the events they accepted and, when some records were
// rejected, a *RejectError listing each of them (a RecordError with the
// record's index, path, field and message), so the receiver can answer with
// partial success. One bad record never drops the others.
//
// # Experiment and cohort
//
// The experiment and cohort of a record come from, in order:
//
//  1. the attributes chaos.experiment.id and chaos.experiment.cohort on the
//     span or log record (for JSON events: the experiment_id and cohort
//     fields, then those attributes);
//  2. the same attributes on the resource;
//  3. the cohort rules of the experiment definitions (experiment.Assigner),
//     matched against the record's attributes layered over the resource's
//     (for JSON events: the attributes, then the known fields by name);
//  4. for spans, the cohort rules matched against each flag evaluation span
//     event in turn ("feature_flag.evaluation", or "feature_flag" of older
//     OpenFeature hooks), its attributes layered over the span's and the
//     resource's; the first evaluation a rule matches decides;
//  5. the trace: a span or log record that none of the above tags takes
//     the experiment and cohort of its trace (see TraceCohorts), and then
//     carries chaos.cohort.source=trace.
//
// Rules read feature_flag.key and the variant: feature_flag.result.variant,
// else the older feature_flag.variant, else feature_flag.result.value (a
// JSON string unquoted); a rule naming a provider compares
// feature_flag.provider.name, else feature_flag.provider_name. A log record
// whose event name is "feature_flag.evaluation" carries these as its own
// attributes and is tagged by step 3.
//
// The attributes of the deciding evaluation event (else the first) are
// added to the span's attributes where the span has none of that name, so
// they can be queried (has(attr_keys, 'feature_flag.context.id')); a span
// with several evaluation events also gets them all, as a JSON array of
// objects, in feature_flag.evaluations. When neither enduser.id nor user.id
// is set, the targeting key feature_flag.context.id (record, resource, then
// the evaluation events) becomes the event's SubjectID.
//
// Steps 1 and 2 are taken per attribute (an id on the resource and a cohort
// on the span combine); empty values count as absent. As soon as either
// attribute is present the rules are not consulted, and then both must be
// present: the id must pass telemetry.ValidateID and the cohort must be
// "experiment" or "control" (not "none"). Otherwise the record is rejected,
// with the bad value quoted and truncated in the message.
// chaos.synthetic ("true" or "1"; record, then resource) marks synthetic
// traffic.
//
// # Flows
//
// flow.name, flow.key and flow.stage (JSON: flow, flow_key or key, stage;
// then those attributes; record, then resource) place a record explicitly:
// the name must pass telemetry.ValidateID, key and stage must be non-empty
// and at most 256 bytes. When the named flow is defined, a missing stage is
// derived with Flow.MatchStage and a missing key from the flow's key
// attribute. A stage without a name is rejected.
//
// Without flow.name, the first defined flow (in definition order) that has a
// stage matching the record (Flow.MatchStage on the span, log or event name,
// the service and the attributes) and whose Key attribute is present on the
// record (record attributes, then resource; for JSON events also a known
// field of that name) sets Flow, FlowKey (the attribute's value) and Stage.
// An explicit flow key (flow.key, flow_key, key) replaces the key attribute;
// if no defined flow matches, such a key is rejected.
//
// # Spans and log records
//
// Spans become KindSpan events: Service is the resource's service.name,
// TimeNs the start time (ingest time if zero), DurationNs end minus start
// (0 if negative), Status the span status, HTTPStatus
// http.response.status_code or http.status_code (int or string), IsError a
// status of error or an HTTP status of 500 or more, ErrorType error.type or
// the exception.type of the first "exception" span event, SubjectID
// enduser.id or user.id. Spans with an all-zero trace or span id are
// rejected.
//
// Log records become KindLog events: TimeNs is the timestamp, else the
// observed timestamp, else the ingest time; Name is the event.name
// attribute, else the record's EventName, else the severity; Severity is the
// severity text, else the name of the severity number's range (TRACE, DEBUG,
// INFO, WARN, ERROR, FATAL); Body is the body as text (maps and slices as
// JSON, bytes as base64); IsError is severity number ERROR (17) or above,
// an error.type attribute, or, without a severity number, a severity text
// such as "error" or "fatal".
//
// Attributes are stored as text in pdata's order (insertion order): maps and
// slices as JSON, bytes as base64. Values longer than
// Config.MaxAttrValueBytes are cut and end in TruncationMarker; tagging and
// ids use the full values. Events of one resource share their ResKeys and
// ResValues arrays. An event whose wire form exceeds Config.MaxEventBytes is
// rejected.
//
// # Event ids
//
// Ids are deterministic, so a retried request or a replayed record becomes
// the same row:
//
//   - span: hex of trace id and span id, 48 lower-case hex digits;
//   - log record: 32 hex digits, the first 128 bits of SHA-256 over a
//     length-prefixed encoding of the resource attributes (sorted by key,
//     value, type), scope name and version, timestamp, observed timestamp,
//     severity number and text, event name, body (type and text), record
//     attributes (sorted the same way), trace id, span id and flags; the
//     order attributes arrive in does not matter;
//   - JSON event: the event_id field if given, else 32 hex digits, the first
//     128 bits of SHA-256 over the normalized record (fields after parsing:
//     aliases merged, times and durations in nanoseconds, ids lower-cased,
//     attributes sorted by key; ingest-time defaults and derived tags left
//     out). Two identical events without time or event_id are one event.
//
// # JSON events
//
// JSONEvents accepts one JSON object, an array of objects, or NDJSON (one
// object per line; blank lines skipped). A body whose first non-blank line
// is a complete JSON value is read line by line, and a malformed line
// rejects only itself; otherwise the body is read as a stream of (possibly
// multi-line) values, and a syntax error ends the reading. Records are named
// "line N" (NDJSON, stream) or "record N" (array element), 1-based:
//
//	line 3: field "duration_ms": want a number, got string
//
// Each record is checked as encoding/json.Valid would (validJSON, a faster equal) and then split into its members
// without copying; numbers keep their literal text (what
// json.Decoder.UseNumber gives), so nothing is lost to float64. The fields
// of an event (null counts as absent; duplicate keys: the last wins):
//
//	field          type                     meaning
//	event_id       string, optional         row id; at most 128 printable ASCII
//	                                        characters, no space, quote or
//	                                        backslash; default: hash (above)
//	time           string or number         RFC 3339 (fraction optional) or unix
//	                                        time: below 1e11 seconds, below 1e14
//	                                        milliseconds, below 1e17 microseconds,
//	                                        else nanoseconds; fractions allowed;
//	                                        default: ingest time
//	service        string, required         emitting service
//	name           string, required         event name; flow stages match it
//	flow           string                   flow name (telemetry.ValidateID)
//	flow_key, key  string or number         item key within the flow (≤ 256 bytes)
//	stage          string                   flow stage (≤ 256 bytes)
//	experiment_id  string                   experiment (telemetry.ValidateID)
//	cohort         string                   "experiment" or "control"
//	synthetic      boolean                  synthetic traffic
//	status         string                   "ok", "error" or "unset"
//	http_status    integer                  100 to 599 (0 = none)
//	duration_ms    number ≥ 0               duration in milliseconds
//	error_type     string                   error class
//	subject_id     string or number         user or subject
//	trace_id       string                   32 hex digits (stored lower case)
//	span_id        string                   16 hex digits (stored lower case)
//	severity       string                   free-form level
//	body           any                      text; non-strings as compact JSON
//	attributes     object                   attributes; values as text
//	(other)        any                      attribute of that name
//
// Attribute values become text: strings as they are, numbers as written,
// booleans as true/false, objects and arrays as compact JSON. An
// "attributes" entry wins over a top-level field of the same name; the
// attributes of a JSON event are stored sorted by key. IsError is a status
// of "error" or an HTTP status of 500 or more. Wrong types, bad ids and bad
// values reject the record with the field's name.
package tag
