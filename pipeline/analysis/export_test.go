package analysis

// DirtyBuckets is dirtyBuckets for the external tests, which pick the
// buckets holding a duplicate the way Compare does.
var DirtyBuckets = dirtyBuckets
