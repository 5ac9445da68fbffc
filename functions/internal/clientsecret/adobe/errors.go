package adobe

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// Error is a failed management call. Its message names the call, the HTTP
// status, Adobe's error code and message (scrubbed), the request id and
// the number of attempts; it never holds a client secret, the management
// token or an add's answer.
type Error struct {
	// Op is the call, e.g. "listing client secrets".
	Op string
	// Reason says what went wrong in a few words.
	Reason string
	// StatusCode is the HTTP status, or 0 when no answer arrived.
	StatusCode int
	// Code and Message are Adobe's error_code and message, if any.
	Code, Message string
	// RequestID is the answer's X-Request-Id, if any.
	RequestID string
	// RetryAfter is the delay Adobe asked for, if any.
	RetryAfter time.Duration
	// Retryable reports whether trying again may succeed.
	Retryable bool
	// Attempts is how many requests were made.
	Attempts int
	// Err is the cause, if any: clientsecret.ErrAddUnknown for an add
	// whose outcome is unknown. It holds no secret.
	Err error

	outcomeUnknown bool // the request may have been carried out
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "adobe management API: %s: %s", e.Op, e.Reason)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" || e.Message != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimSpace(e.Code+" "+parenthesised(e.Message)))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %s", strings.ReplaceAll(e.Err.Error(), "\n", "; "))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "; X-Request-Id %s", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, "; after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// errorFields reads Adobe's error code and message from an error body,
// scrubbed; a body in another shape gives its scrubbed start as message.
func errorFields(body []byte, sc oauthtoken.Scrubber) (code, message string) {
	var f struct {
		ErrorCode   string `json:"error_code"`
		Error       string `json:"error"`
		Message     string `json:"message"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &f) == nil {
		code = f.ErrorCode + f.Error
		message = f.Message + f.Description
		if code != "" || message != "" {
			return sc.Scrub(code), sc.Scrub(message)
		}
	}
	return "", sc.Scrub(string(body))
}

// stamp reads Adobe's times: milliseconds since the epoch as a string (as
// documented) or a number, or an RFC 3339 string; "PERMANENT", "", and
// null read as zero (no expiry, never used).
type stamp struct{ t time.Time }

func (s *stamp) UnmarshalJSON(b []byte) error {
	v := strings.TrimSpace(string(b))
	if uq, err := strconv.Unquote(v); err == nil {
		v = uq
	}
	switch v {
	case "", "null", "PERMANENT":
		return nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		s.t = time.UnixMilli(ms).UTC()
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		s.t = t.UTC()
		return nil
	}
	return fmt.Errorf("time %.40q is neither milliseconds since the epoch nor RFC 3339", v)
}

// cleanJSONError keeps a decoding error's text, which names a field or an
// offset and never quotes the document.
func cleanJSONError(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
