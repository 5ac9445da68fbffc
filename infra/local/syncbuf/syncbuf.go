// Package syncbuf holds Buffer, a byte buffer that several goroutines may
// write at once: the output of the processes the local stand-ins start, and
// the log lines tests collect to check for leaked secrets.
//
//	var logs syncbuf.Buffer
//	log := slog.New(slog.NewJSONHandler(&logs, nil))
//	... // handlers log from many goroutines
//	if strings.Contains(logs.String(), secret) { ... }
package syncbuf

import (
	"bytes"
	"io"
	"sync"
)

// Buffer collects writes from several goroutines. The zero value is an
// empty buffer that copies nowhere.
type Buffer struct {
	// Tee, if not nil, also receives every write, as it arrives.
	Tee io.Writer

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, and copies it to Tee; a failing Tee is ignored.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Tee != nil {
		_, _ = b.Tee.Write(p)
	}
	return b.b.Write(p)
}

// Bytes returns a copy of everything written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
