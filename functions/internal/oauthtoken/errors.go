package oauthtoken

import (
	"fmt"
	"strings"
	"time"
)

// Error is a failed token request. Its message names the HTTP status, the
// OAuth error and description, the endpoint's X-Debug-Id and the number of
// attempts; it never holds the client secret, the response body or a token.
type Error struct {
	// Reason says what went wrong in a few words, e.g. "token endpoint refused the request".
	Reason string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Code and Description are the OAuth error and error_description, if any.
	Code, Description string
	// DebugID is the response's X-Debug-Id header, if any.
	DebugID string
	// RetryAfter is the delay the endpoint asked for, if any.
	RetryAfter time.Duration
	// Retryable reports whether trying again may succeed (network errors, 5xx, 429).
	Retryable bool
	// Attempts is how many requests were made in all.
	Attempts int
	// Err is the underlying cause, if any; it holds no secret.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
		if e.Description != "" {
			fmt.Fprintf(&b, " (%s)", e.Description)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.DebugID != "" {
		fmt.Fprintf(&b, "; X-Debug-Id %s", e.DebugID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, "; after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// scrub removes secret from s and shortens it, so that text an endpoint
// sends back can go into an error without carrying anything it echoed.
func scrub(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
