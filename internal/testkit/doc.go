// Package testkit is the home of the test helpers: chtest (a fresh
// ClickHouse database per test), kafkatest (a topic per test, a broker
// that can be stopped), amtest (a real Alertmanager), faultproxy (a TCP
// proxy that cuts a connection) and fixture (deterministic telemetry).
// Only tests, benchmarks and the demo import them; nothing in pipeline/
// does (the import rule in .golangci.yml and TestImportDirection keep it
// so).
package testkit
