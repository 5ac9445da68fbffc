package oauthtoken

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
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

// scrubber removes secret material from text an endpoint sends back, so
// that it can go into an error or a log line.
type scrubber struct{ r *strings.Replacer }

// newScrubber returns a scrubber for forms; empty forms are ignored. The
// longest form found at a place is the one replaced.
func newScrubber(forms ...string) scrubber {
	forms = slices.DeleteFunc(slices.Clone(forms), func(f string) bool { return f == "" })
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	forms = slices.Compact(forms)
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, redacted)
	}
	return scrubber{strings.NewReplacer(pairs...)}
}

// scrub removes the scrubber's forms from s, turns control characters into
// spaces and shortens it.
func (sc scrubber) scrub(s string) string {
	if sc.r != nil {
		s = sc.r.Replace(s)
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

// secretForms returns every form of creds' secret that a token request
// carries, and those a gateway or WAF that echoes the request into its
// answer may print: the secret itself; form-encoded, as in the body
// (url.QueryEscape: + for a space, upper-case %XX), with lower-case
// escapes or %20 for a space, as a proxy may normalise it; the Basic
// header's value, base64 of the form-encoded "id:secret" as the oauth2
// package sends it (RFC 6749 section 2.3.1), and of the raw pair, each in
// the standard and the URL alphabet, padded or not; and JSON-escaped, as
// an answer quoting a decoded request may print it (\uXXXX for non-ASCII,
// \/ or / for a slash, upper- or lower-case hex).
func secretForms(creds Credentials) []string {
	s := creds.ClientSecret
	if s == "" {
		return nil
	}
	q := url.QueryEscape(s)
	forms := []string{s, q, lowerEscapes(q), strings.ReplaceAll(q, "+", "%20"), lowerEscapes(strings.ReplaceAll(q, "+", "%20"))}
	for _, pair := range []string{url.QueryEscape(creds.ClientID) + ":" + q, creds.ClientID + ":" + s} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			forms = append(forms, enc.EncodeToString([]byte(pair)))
		}
	}
	if b, err := json.Marshal(s); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	for _, slash := range []bool{false, true} {
		for _, upper := range []bool{false, true} {
			forms = append(forms, jsonASCII(s, slash, upper))
		}
	}
	return forms
}

// lowerEscapes writes the hex digits of s's percent escapes in lower case.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLower(b[i+1]), toLower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// jsonASCII escapes s as a JSON string's content with only ASCII left: \uXXXX
// (UTF-16) for non-ASCII, escapes for quotes, backslashes and control
// characters, and \/ for a slash when slash is set.
func jsonASCII(s string, slash, upper bool) string {
	hex := `\u%04x`
	if upper {
		hex = `\u%04X`
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, hex, u)
			}
		}
	}
	return b.String()
}
