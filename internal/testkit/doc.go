// Package testkit is the home of the test helpers: chtest (a fresh
// ClickHouse database per test), kafkatest (a topic per test, a broker
// that can be stopped), amtest (a real Alertmanager), faultproxy (a TCP
// proxy that cuts a connection), fixture (deterministic telemetry), freeport
// (ports for servers started as child processes) and
// proctest (the binaries as child processes, built with -race under -race).
// Only tests, benchmarks and the demo import them; nothing in pipeline/
// does (the import rule in .golangci.yml and TestImportDirection keep it
// so).
package testkit
