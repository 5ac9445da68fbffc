package faultmatrix

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// listSecrets is the X-Amz-Target of the call that lists the added
// integrations; faultproxy matches any target.
const listSecrets = "secretsmanager.ListSecrets"

// tap counts the Secrets Manager calls that pass it, per operation and
// secret, then hands them on. In front of the fault proxy it counts every
// call of a fleet's integrations; behind it, those that reached moto.
type tap struct {
	next http.Handler

	mu    sync.Mutex
	calls map[[2]string]int // {X-Amz-Target, SecretId}
}

func newTap(next http.Handler) *tap { return &tap{next: next, calls: map[[2]string]int{}} }

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	_ = json.Unmarshal(peek(r), &in)
	t.mu.Lock()
	t.calls[[2]string{r.Header.Get("X-Amz-Target"), in.SecretID}]++
	t.mu.Unlock()
	t.next.ServeHTTP(w, r)
}

// count returns how many calls of target on secret id passed.
func (t *tap) count(target, id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[[2]string{target, id}]
}

// clientCounts counts the token requests that pass it, per client id (form
// field or HTTP Basic user), before the emulator answers them.
type clientCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *clientCounts) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, _, ok := r.BasicAuth()
		if !ok {
			form, _ := url.ParseQuery(string(peek(r)))
			client = form.Get("client_id")
		}
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[client]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// of returns how many requests client made.
func (c *clientCounts) of(client string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[client]
}

// peek returns the request's body, at most 1 MiB of it, and leaves the
// body whole for the next handler.
func peek(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	return head
}
