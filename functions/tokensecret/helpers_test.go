package tokensecret_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// sentinel is an access token no output of the package may contain.
const sentinel = "SENTINEL-ACCESS-TOKEN-7f3a"

// start is the fake clock's first reading in every test.
var start = time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)

// fixture is a Source over a fake client and clock, logging to a buffer
// that the test checks for the sentinel at cleanup.
type fixture struct {
	src   *tokensecret.Source
	sm    *tokensecrettest.Client
	clock *tokensecrettest.Clock
	logs  *syncbuf.Buffer
}

func newFixture(t *testing.T, cfg tokensecret.Config) *fixture {
	t.Helper()
	f := &fixture{sm: tokensecrettest.NewClient(), clock: tokensecrettest.NewClock(start), logs: &syncbuf.Buffer{}}
	cfg.SecretID = "adobe-token"
	if cfg.Client == nil && !cfg.Extension {
		cfg.Client = f.sm
	}
	cfg.Now = f.clock.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src, err := tokensecret.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.src = src
	t.Cleanup(func() {
		if bytes.Contains([]byte(f.logs.String()), []byte(sentinel)) {
			t.Errorf("logs contain the access token:\n%s", f.logs)
		}
	})
	return f
}

// put stores a new token issued now that lasts 24 h, and returns it.
func (f *fixture) put(access string) tokensecret.Token {
	tok := tokensecrettest.NewToken(access, "client-1", f.clock.Now(), 24*time.Hour)
	tok.Version = f.sm.PutToken(tok)
	return tok
}

// newTestLogger logs everything, as JSON, to w.
func newTestLogger(w *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// containsSentinel reports whether s shows the sentinel access token.
func containsSentinel(s string) bool { return bytes.Contains([]byte(s), []byte(sentinel)) }
