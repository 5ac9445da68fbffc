package faultproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
)

// maxPeek bounds how much of a request body is read to find its SecretId;
// a Secrets Manager value is at most 64 KiB.
const maxPeek = 1 << 20

// rule is a Rule and how many calls it has faulted.
type rule struct {
	Rule
	used int
}

// Proxy forwards Secrets Manager calls to a backend, faulting those its
// rules match. Create it with New.
type Proxy struct {
	rp        *httputil.ReverseProxy
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	rules     []*rule
	calls     map[string]int
	forwarded map[string]int
	faulted   map[string]int
	seq       int
}

// New returns a Proxy that forwards to backend, the base URL of a Secrets
// Manager endpoint such as http://127.0.0.1:PORT.
func New(backend string) (*Proxy, error) {
	u, err := url.Parse(backend)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: backend %q is not an absolute URL", backend)
	}
	p := &Proxy{
		done:      make(chan struct{}),
		calls:     map[string]int{},
		forwarded: map[string]int{},
		faulted:   map[string]int{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // as signed by the client
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The client left, or the backend is down: no log, a 502 if anyone listens.
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return p, nil
}

// Inject adds a rule. Rules are tried in the order they were added; a call
// gets the fault of the first one that matches and has faults left.
func (p *Proxy) Inject(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &rule{Rule: r})
}

// Clear drops every rule. Counters stay.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Calls returns how many calls of target arrived, faulted or not; an empty
// target counts every call.
func (p *Proxy) Calls(target string) int { return p.count(p.calls, target) }

// Forwarded returns how many calls of target reached the backend; an empty
// target counts every call.
func (p *Proxy) Forwarded(target string) int { return p.count(p.forwarded, target) }

// Faulted returns how many calls of target got a fault; an empty target
// counts every call.
func (p *Proxy) Faulted(target string) int { return p.count(p.faulted, target) }

func (p *Proxy) count(m map[string]int, target string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if target != "" {
		return m[target]
	}
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ResetCounters sets every counter to zero. Rules stay.
func (p *Proxy) ResetCounters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls, p.forwarded, p.faulted = map[string]int{}, map[string]int{}, map[string]int{}
}

// Close releases the calls a Timeout fault holds and makes later ones
// return at once. Call it before closing the HTTP server, which waits for
// its handlers. It is safe to call twice.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() { close(p.done) })
}

// ServeHTTP counts the call, then faults or forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	secretID, err := peekSecretID(r)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.calls[target]++
	f, ok := p.match(target, secretID)
	if ok {
		p.faulted[target]++
	} else {
		p.forwarded[target]++
	}
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	if f.Lost {
		p.mu.Lock()
		p.forwarded[target]++
		p.mu.Unlock()
		p.rp.ServeHTTP(discard{h: http.Header{}}, r)
		if f.Timeout {
			hangUp(w)
			return
		}
	}
	if f.Timeout {
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		hangUp(w)
		return
	}
	writeError(w, f, seq)
}

// match returns the fault of the first rule that matches and has faults
// left, and uses one. p.mu is held.
func (p *Proxy) match(target, secretID string) (Fault, bool) {
	for _, r := range p.rules {
		if r.Target != target || (r.SecretID != "" && r.SecretID != secretID) {
			continue
		}
		if r.Times > 0 && r.used >= r.Times {
			continue
		}
		r.used++
		return r.Fault, true
	}
	return Fault{}, false
}

// peekSecretID reads the SecretId of a JSON body, leaving the body intact
// for the backend. A body that is not JSON, or too large, has none.
func peekSecretID(r *http.Request) (string, error) {
	if r.Body == nil {
		return "", nil
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxPeek+1))
	if err != nil {
		return "", err
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if len(head) > maxPeek {
		return "", nil
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	_ = json.Unmarshal(head, &in)
	return in.SecretID, nil
}

// discard is where the answer to a call with a Lost fault goes.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// hangUp closes the connection without an answer, so that a held call
// never reads as a success. Where it cannot (HTTP/2), it answers 504.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	_ = conn.Close()
}

// writeError writes f as an AWS JSON 1.1 error.
func writeError(w http.ResponseWriter, f Fault, seq int) {
	body, _ := json.Marshal(map[string]string{"__type": f.Type, "message": f.Message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-ErrorType", f.Type)
	h.Set("X-Amzn-RequestId", fmt.Sprintf("faultproxy-%08d", seq))
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}
