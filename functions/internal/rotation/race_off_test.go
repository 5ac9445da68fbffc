//go:build !race

package rotation_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
