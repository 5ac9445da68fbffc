package oauthtoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
)

// echoSecret has every character that an encoding changes: +, /, = and %
// (form and Basic escaping, base64's alphabets), a space (+ or %20),
// non-ASCII in and beyond the BMP (percent escapes, JSON \u escapes).
const echoSecret = "SENTINEL+echo/secret=9%41 é😀"

// echoForms are the forms of echoSecret a request carries, or that a
// gateway echoing it may print; each is worked out here on its own, not
// taken from the code under test.
func echoForms(id, secret string) map[string]string {
	q := url.QueryEscape(secret)
	lower := strings.NewReplacer("%2B", "%2b", "%2F", "%2f", "%3D", "%3d", "%25", "%25", "%C3", "%c3", "%A9", "%a9",
		"%F0", "%f0", "%9F", "%9f", "%98", "%98", "%80", "%80").Replace(q)
	forms := map[string]string{
		"literal":                  secret,
		"form-encoded":             q,
		"form-encoded, lower case": lower,
		"form-encoded, %20":        strings.ReplaceAll(q, "+", "%20"),
		"JSON, ASCII":              asciiJSON(secret, false),
		"JSON, ASCII, \\/":         asciiJSON(secret, true),
	}
	for name, pair := range map[string]string{"escaped": url.QueryEscape(id) + ":" + q, "raw": id + ":" + secret} {
		for enc, e := range map[string]*base64.Encoding{"std": base64.StdEncoding, "std unpadded": base64.RawStdEncoding,
			"url": base64.URLEncoding, "url unpadded": base64.RawURLEncoding} {
			forms[fmt.Sprintf("base64 %s of %s id:secret", enc, name)] = e.EncodeToString([]byte(pair))
		}
	}
	return forms
}

// asciiJSON is s JSON-escaped with only ASCII left, as many encoders print
// it (PHP, Jackson with ESCAPE_NON_ASCII), without its quotes.
func asciiJSON(s string, slash bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r < 0x80:
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		}
	}
	return b.String()
}

// echo answers status with an OAuth error whose error_description is the
// request as show renders it, as a gateway or a WAF that echoes the
// request does.
func echo(status int, show func(auth, body string) string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if len(raw) == 0 && r.PostForm != nil { // endpoint read it first; oauth2 encodes the same way
			raw = []byte(r.PostForm.Encode())
		}
		desc, _ := json.Marshal(show(r.Header.Get("Authorization"), string(raw)))
		jsonAnswer(status, `{"error":"invalid_request","error_description":`+string(desc)+`}`)(w, r)
	}
}

func TestFetchScrubsEveryFormOfAnEchoedSecret(t *testing.T) {
	creds := Credentials{ClientID: "client-1", ClientSecret: echoSecret}
	lowerEscapes := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) {
				b.WriteString("%" + strings.ToLower(s[i+1:i+3]))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
	basicPair := func(auth string) string {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		return string(raw)
	}
	decoded := func(auth, body string) (id, secret string) {
		if auth != "" {
			id, secret, _ = strings.Cut(basicPair(auth), ":")
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
			return id, secret
		}
		form, _ := url.ParseQuery(body)
		return form.Get("client_id"), form.Get("client_secret")
	}
	shows := map[string]func(auth, body string) string{
		"as sent": func(auth, body string) string { return "rejected: Authorization: " + auth + "; body: " + body },
		"percent escapes in lower case": func(auth, body string) string {
			return "rejected: Authorization: " + auth + "; body: " + lowerEscapes(body)
		},
		"+ as %20": func(auth, body string) string {
			return "rejected: Authorization: " + auth + "; body: " + strings.ReplaceAll(body, "+", "%20")
		},
		"Basic in the URL alphabet, unpadded": func(auth, body string) string {
			return "rejected: Authorization: Basic " + base64.RawURLEncoding.EncodeToString([]byte(basicPair(auth))) + "; body: " + body
		},
		"Basic of the unescaped pair": func(auth, body string) string {
			id, secret := decoded(auth, body)
			return "rejected: Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
		},
		"decoded": func(auth, body string) string {
			_, secret := decoded(auth, body)
			return "rejected: client_secret " + secret
		},
		"decoded, JSON-escaped": func(auth, body string) string {
			_, secret := decoded(auth, body)
			return `rejected: {"client_secret":"` + asciiJSON(secret, true) + `"}`
		},
	}
	forms := echoForms(creds.ClientID, creds.ClientSecret)
	for _, basic := range []bool{false, true} {
		for name, show := range shows {
			t.Run(fmt.Sprintf("basic=%v/%s", basic, name), func(t *testing.T) {
				// A 503 first, so that the retry's log line carries the echo too.
				h := newHarness(t, Config{Auth: authOf(basic)}, echo(503, show), echo(400, show))
				_, err := h.f.Fetch(context.Background(), creds)
				if err == nil {
					t.Fatal("Fetch() error = nil, want the echoed refusal")
				}
				if !strings.Contains(err.Error(), redacted) {
					t.Errorf("Fetch() error = %q, want the echoed secret replaced by %s", err, redacted)
				}
				for what, text := range map[string]string{"error": err.Error(), "logs": h.logs.String()} {
					for form, s := range forms {
						if strings.Contains(text, s) {
							t.Errorf("the secret, %s, is in the %s", form, what)
						}
					}
				}
			})
		}
	}
}
func TestScrubKeepsWhatIsNotTheSecret(t *testing.T) {
	sc := newScrubber(secretForms(Credentials{ClientID: "client-1", ClientSecret: echoSecret})...)
	in := "invalid_client: client_id=client-1&scope=openid%2CAdobeID (see https://example.com/help)"
	if got := sc.scrub(in); got != in {
		t.Errorf("scrub(%q) = %q, want it unchanged", in, got)
	}
	if got := newScrubber().scrub("a\nb"); got != "a b" {
		t.Errorf("scrub without forms = %q, want control characters made spaces", got)
	}
}

// The token URL's query may hold a key: no error names it, even when
// net/http's *url.Error quotes the whole URL.
func TestFetchErrorsLeaveTheTokenURLsQueryOut(t *testing.T) {
	const key = "SENTINEL-url-key-9a1c"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		url    string // empty: the endpoint's
		want   string
	}{
		{"a redirect whose Location does not parse", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "http://[::1")
			w.WriteHeader(http.StatusFound)
		}, "", "token response refused: HTTP 302"},
		{"a refusal", jsonAnswer(400, `{"error":"invalid_client"}`), "", "invalid_client"},
		{"no endpoint", ok, closed.URL + "/t?key=" + key, "token request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{MaxAttempts: 1}, tt.answer)
			if tt.url != "" {
				h.f.cfg.TokenURL = tt.url
			} else {
				h.f.cfg.TokenURL += "?key=" + key
			}
			_, err := h.f.Fetch(context.Background(), goodCreds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fetch() error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error()+h.logs.String(), key) {
				t.Errorf("Fetch() error = %q, logs %s; want neither to show the URL's query", err, h.logs.String())
			}
		})
	}
}
