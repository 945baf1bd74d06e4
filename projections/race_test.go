//go:build race

package projections_test

// raceEnabled: the race detector slows the rebuild tests about fourfold; long histories
// are shortened under it (see TestRebuildPromotesWhileQueriesKeepAnswering).
const raceEnabled = true
