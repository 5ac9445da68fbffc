package bench

import (
	"slices"
	"strconv"
	"time"
)

// SMCalls counts a tick's Secrets Manager calls by operation, as faultproxy
// saw them.
type SMCalls struct {
	// Get, Describe, List and Put count GetSecretValue, DescribeSecret,
	// ListSecrets (pages) and PutSecretValue.
	Get, Describe, List, Put int
	// All counts every call, these four included.
	All int
}

// Reads are the calls that read: GetSecretValue, DescribeSecret and
// ListSecrets pages.
func (c SMCalls) Reads() int { return c.Get + c.Describe + c.List }

// Writes are the PutSecretValue calls.
func (c SMCalls) Writes() int { return c.Put }

// Other are the calls that are neither Reads nor Writes.
func (c SMCalls) Other() int { return c.All - c.Reads() - c.Writes() }

// perIntegration spreads count over a fleet of n; zero for an empty fleet.
func perIntegration(count, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(count) / float64(n)
}

// rssGrowth is how much the peak RSS grows per added integration, in bytes,
// between the smallest and the largest fleet: (RSS at last − RSS at
// first) / (last − first). ok is false without two fleets of different
// sizes.
func rssGrowth(sizes []FleetSize) (perIntegration float64, ok bool) {
	if len(sizes) < 2 {
		return 0, false
	}
	first, last := sizes[0], sizes[len(sizes)-1]
	if last.Integrations == first.Integrations {
		return 0, false
	}
	return float64(last.PeakRSS-first.PeakRSS) / float64(last.Integrations-first.Integrations), true
}

// MaxInWindow returns the most events in any half-open interval [t, t+w):
// how the fleet table, and the rotation package's fleet test, judge the
// write pace.
// at a steady pace of r per second, a window of a second holds r of them.
func MaxInWindow(events []time.Time, w time.Duration) int {
	s := slices.Clone(events)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	most, lo := 0, 0
	for hi := range s {
		for s[hi].Sub(s[lo]) >= w {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// thousands writes n with a comma between groups of three digits: 1,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
