package bench

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Usage is what a Meter has seen: calls per operation and the time spent
// serving them, summed.
type Usage struct {
	// Calls counts requests per operation.
	Calls map[string]int
	// Busy is the sum of the requests' service times.
	Busy time.Duration
}

// Sub returns what u holds beyond an earlier snapshot prev.
func (u Usage) Sub(prev Usage) Usage {
	d := Usage{Calls: map[string]int{}, Busy: u.Busy - prev.Busy}
	for op, n := range u.Calls {
		if n -= prev.Calls[op]; n != 0 {
			d.Calls[op] = n
		}
	}
	return d
}

// Meter counts and times the requests of the handlers it wraps. It is safe
// for concurrent use; its zero value is ready.
type Meter struct {
	mu    sync.Mutex
	calls map[string]int
	busy  time.Duration
}

// Wrap returns h, counting each request under the operation op names and
// adding the time from its arrival to the handler's return.
func (m *Meter) Wrap(op func(*http.Request) string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.record(op(r), time.Since(start))
	})
}

func (m *Meter) record(op string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[op]++
	m.busy += d
}

// Snapshot returns what the meter has seen so far.
func (m *Meter) Snapshot() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := Usage{Calls: make(map[string]int, len(m.calls)), Busy: m.busy}
	for op, n := range m.calls {
		u.Calls[op] = n
	}
	return u
}

// secretsProxy returns a reverse proxy to the Secrets Manager endpoint
// target that m counts by operation (the X-Amz-Target header, without its
// "secretsmanager." prefix) and times.
func secretsProxy(target string, m *Meter) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parsing the Secrets Manager endpoint %q: %w", target, err)
	}
	return m.Wrap(secretsOperation, httputil.NewSingleHostReverseProxy(u)), nil
}

// secretsOperation names a Secrets Manager request's operation, such as
// "GetSecretValue".
func secretsOperation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return strings.TrimPrefix(t, "secretsmanager.")
	}
	return "unknown"
}

// Calls is a run's count of remote calls.
type Calls struct {
	// Reads are Secrets Manager reads: GetSecretValue, DescribeSecret,
	// ListSecretVersionIds, BatchGetSecretValue.
	Reads int
	// Writes are Secrets Manager writes: PutSecretValue,
	// UpdateSecretVersionStage, UpdateSecret.
	Writes int
	// Other are the remaining Secrets Manager calls.
	Other int
	// Tokens are requests to the token endpoint.
	Tokens int
}

// String shows the calls as "reads / token requests / writes", and other
// Secrets Manager calls when there were any.
func (c Calls) String() string {
	s := fmt.Sprintf("%d / %d / %d", c.Reads, c.Tokens, c.Writes)
	if c.Other > 0 {
		s += fmt.Sprintf(" (+%d other)", c.Other)
	}
	return s
}

// classify sorts Secrets Manager calls by kind.
func classify(sm Usage, tokens int) Calls {
	c := Calls{Tokens: tokens}
	for op, n := range sm.Calls {
		switch op {
		case "GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "BatchGetSecretValue":
			c.Reads += n
		case "PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret":
			c.Writes += n
		default:
			c.Other += n
		}
	}
	return c
}
