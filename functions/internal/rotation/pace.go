package rotation

import (
	"context"
	"sync"
	"time"
)

// pacer spaces events at least 1/rate apart: the n-th wait of a burst
// returns (n-1)/rate after the first. It is the one place that bounds how
// fast a run writes, whatever the concurrency. It is safe for concurrent use.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time // the earliest time the next event may happen
	now      func() time.Time
}

// newPacer returns a pacer for rate events per second, on the real clock:
// it bounds real request rates, whatever clock the rotator decides with.
func newPacer(rate float64) *pacer {
	return &pacer{interval: time.Duration(float64(time.Second) / rate), now: time.Now}
}

// wait blocks until the caller's slot, or until ctx ends (the slot is then
// lost, never handed out again: slots stay at least the interval apart).
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()

	d := slot.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
