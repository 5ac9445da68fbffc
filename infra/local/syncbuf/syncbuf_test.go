package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAllArrive(t *testing.T) {
	var tee, b Buffer
	b.Tee = &tee
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _, _ = b.Write([]byte("line\n")) })
	}
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != 50 {
		t.Errorf("lines = %d, want 50", got)
	}
	if got, want := tee.String(), b.String(); got != want {
		t.Errorf("Tee got %d bytes, want the %d written", len(got), len(want))
	}
	c := b.Bytes()
	c[0] = 'X'
	if b.String()[0] != 'l' {
		t.Errorf("Bytes() shares the buffer, want a copy")
	}
}
