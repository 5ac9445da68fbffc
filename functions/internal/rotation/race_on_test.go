//go:build race

package rotation_test

// raceEnabled: the race detector slows every goroutine several times over,
// so TestFleetOf1000 runs a smaller fleet under it, through the same code.
const raceEnabled = true
