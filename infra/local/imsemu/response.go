package imsemu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// jsonType is the Content-Type of IMS's JSON answers.
const jsonType = "application/json;charset=UTF-8"

// writeError writes an OAuth error answer.
func writeError(w http.ResponseWriter, status int, code, description string) {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeBody writes body at once, or, when trickle is above zero, one byte
// every trickle until done or until the client leaves.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte, trickle time.Duration) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if trickle <= 0 {
		_, _ = w.Write(body)
		return
	}
	rc := http.NewResponseController(w)
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if !s.wait(r, trickle) {
			return
		}
	}
}

// wait sleeps for d and reports true, or reports false as soon as the
// client leaves or the server is closed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

// newToken returns a random opaque access token.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newDebugID returns a random id in UUID form, like IMS's X-Debug-Id.
func newDebugID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
