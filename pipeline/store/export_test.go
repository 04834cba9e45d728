package store

// SplitStatements is splitStatements, for the migration tests.
var SplitStatements = splitStatements
