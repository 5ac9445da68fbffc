package imsemu

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// A Fault replaces the server's normal answer to one request (Enqueue) or
// to every request (SetFault). Its steps run in this order: Delay, then
// Hang or Reset, then the answer: Status and Body when either is set, or
// else the normal answer (a real token); Trickle slows whichever body is
// written. The constructors below build the usual faults.
type Fault struct {
	// Name says what the fault is, in logs.
	Name string
	// Delay holds the answer back before its headers.
	Delay time.Duration
	// Hang holds the request until the client gives up or Close is called,
	// and answers nothing.
	Hang bool
	// Reset closes the connection with a TCP RST (SO_LINGER 0) instead of
	// answering.
	Reset bool
	// Status is the answer's HTTP status; zero means 200 when Body is set.
	Status int
	// RetryAfter, if not empty, is sent as the Retry-After header.
	RetryAfter string
	// Body is the answer's body. When it is nil and Status is 400 or more,
	// the body is an OAuth error naming the status.
	Body []byte
	// ContentType is the answer's Content-Type; empty means JSON.
	ContentType string
	// Trickle, if above zero, writes the body one byte every Trickle.
	Trickle time.Duration
	// Echo answers an OAuth error (Status, 400 when zero) whose
	// error_description is the request as received, as a gateway or a WAF
	// that echoes what it refused does: method and path, the raw body,
	// then every header, Authorization included. Body is ignored.
	Echo bool
}

// Enqueue queues faults; each request takes the next one, in order, before
// any sticky fault applies.
func (s *Server) Enqueue(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, f...)
}

// SetFault makes f apply to every request once the queue is empty, until
// ClearFault.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky = &f
}

// ClearFault drops the sticky fault and the queued ones, management
// faults too.
func (s *Server) ClearFault() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky, s.queue = nil, nil
	s.msticky, s.mqueue = nil, nil
}

// serveFault runs f's steps and returns the status written, or 0 when
// the request got no HTTP answer.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault, req Request, creds credentials, parseErr error, debugID string) int {
	if f.Delay > 0 && !s.wait(r, f.Delay) {
		return 0
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return 0
	}
	if f.Reset {
		reset(w)
		return 0
	}
	if f.Status == 0 && f.Body == nil && !f.Echo {
		return s.answer(w, r, req, creds, parseErr, debugID, f.Trickle)
	}
	status, body, ctype := f.Status, f.Body, f.ContentType
	if f.Echo {
		status = cmp.Or(status, http.StatusBadRequest)
		body, _ = json.Marshal(map[string]string{"error": "invalid_request", "error_description": creds.echo})
	}
	if status == 0 {
		status = http.StatusOK
	}
	if body == nil && status >= 400 {
		body = fmt.Appendf(nil, `{"error":%q,"error_description":"emulated HTTP %d"}`, errorCode(status), status)
	}
	if ctype == "" {
		ctype = jsonType
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	s.writeBody(w, r, status, ctype, body, f.Trickle)
	return status
}

// reset hijacks the connection and closes it with SO_LINGER 0, so that the
// client sees a connection reset rather than an orderly close. Where the
// connection cannot be hijacked (HTTP/2), it answers 500 instead.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "emulated connection reset impossible: "+err.Error())
		return
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

func errorCode(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "too_many_requests"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request"
	}
}

// Status answers with an HTTP status and an OAuth error body naming it;
// retryAfter, if not empty, becomes the Retry-After header ("2", or an HTTP
// date).
func Status(code int, retryAfter string) Fault {
	return Fault{Name: fmt.Sprintf("status %d", code), Status: code, RetryAfter: retryAfter}
}

// EchoRequest answers status with an OAuth error that echoes the request,
// its client secret included, into error_description (see Fault.Echo).
func EchoRequest(status int) Fault {
	return Fault{Name: fmt.Sprintf("HTTP %d echoing the request", status), Status: status, Echo: true}
}

// NotJSON answers 200 with an HTML page, as a proxy or a login page would.
func NotJSON() Fault {
	return Fault{Name: "200 not JSON", Status: http.StatusOK, ContentType: "text/html; charset=utf-8",
		Body: []byte("<html><body><h1>Service Unavailable</h1></body></html>")}
}

// NoAccessToken answers 200 with a token answer lacking access_token.
func NoAccessToken() Fault {
	return Fault{Name: "200 without access_token", Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"token_type":"bearer","expires_in":%d}`, DefaultExpiresIn)}
}

// ErrorIn200 answers 200 with an OAuth error body.
func ErrorIn200() Fault {
	return Fault{Name: "200 with error", Status: http.StatusOK,
		Body: []byte(`{"error":"server_error","error_description":"emulated error in a 200 answer"}`)}
}

// NoExpiresIn answers 200 with a token but no expires_in.
func NoExpiresIn() Fault {
	return Fault{Name: "200 without expires_in", Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer"}`, newToken())}
}

// ZeroExpiresIn answers 200 with a token whose expires_in is 0.
func ZeroExpiresIn() Fault {
	return Fault{Name: "200 with expires_in 0", Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":0}`, newToken())}
}

// TokenType answers 200 with a token of the given token_type, such as "mac".
func TokenType(t string) Fault {
	return Fault{Name: "200 with token_type " + t, Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":%q,"expires_in":%d}`, newToken(), t, DefaultExpiresIn)}
}

// HugeBody answers 200 with a valid token answer padded to about n bytes,
// for checking that a client caps what it reads.
func HugeBody(n int) Fault {
	head := fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":%d,"padding":"`, newToken(), DefaultExpiresIn)
	pad := max(n-len(head)-2, 0)
	return Fault{Name: fmt.Sprintf("200 of %d bytes", len(head)+pad+2), Status: http.StatusOK,
		Body: []byte(head + strings.Repeat("x", pad) + `"}`)}
}

// SlowHeaders gives the normal answer after d.
func SlowHeaders(d time.Duration) Fault {
	return Fault{Name: "slow headers " + d.String(), Delay: d}
}

// SlowBody gives the normal answer at once but its body one byte every
// interval.
func SlowBody(interval time.Duration) Fault {
	return Fault{Name: "slow body " + interval.String(), Trickle: interval}
}

// Hang answers nothing until the client gives up or Close is called.
func Hang() Fault {
	return Fault{Name: "hang", Hang: true}
}

// ConnectionReset resets the connection instead of answering.
func ConnectionReset() Fault {
	return Fault{Name: "connection reset", Reset: true}
}

// EntraThrottled answers as Microsoft Entra does when it throttles: HTTP
// 429 with Retry-After: 60 and a plain-text body, not JSON.
func EntraThrottled() Fault {
	return Fault{Name: "entra throttled", Status: http.StatusTooManyRequests, RetryAfter: "60",
		ContentType: "text/plain", Body: []byte("Too Many Requests")}
}
