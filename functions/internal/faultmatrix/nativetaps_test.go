package faultmatrix

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
)

// A native case's handlers around the fault proxy. In front of it, those
// the case asks for: meet, onceWritten, loseAnswer, denyPendingRemoval,
// in that order from the function. Behind it, the writeTap, which records
// the writes that reach moto.

// nativeFront wraps the proxy's front in the handlers the case asks for.
func (p *protocol) nativeFront(front http.Handler) http.Handler {
	if p.pendingRemovalDenied {
		front = denyPendingRemoval(front)
	}
	if p.lostAnswer != 0 {
		front = loseAnswer(front, p.lostAnswer)
	}
	if p.writeOnce {
		front = &onceWritten{next: front, values: map[string]string{}}
	}
	if p.meet != 0 {
		front = meet(front, p.meet)
	}
	return front
}

// write is a PutSecretValue or UpdateSecretVersionStage call that reached moto.
type write struct {
	target, secretID string
	version          string // ClientRequestToken, or MoveToVersionId
	removeFrom       string // RemoveFromVersionId
	stage            string // VersionStage, or VersionStages joined
	status           int    // moto's answer
}

func (w write) ok() bool { return w.status/100 == 2 }

// movesCurrent says the write moved AWSCURRENT.
func (w write) movesCurrent() bool {
	return w.ok() && w.target == faultproxy.UpdateSecretVersionStage && w.stage == secretstore.StageCurrent && w.version != ""
}

// writeTap records the writes that pass it, with moto's answer, then
// hands every call on. Behind the fault proxy, it sees what reached moto.
type writeTap struct {
	next http.Handler

	mu     sync.Mutex
	writes []write
}

func (t *writeTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if target != faultproxy.PutSecretValue && target != faultproxy.UpdateSecretVersionStage {
		t.next.ServeHTTP(w, r)
		return
	}
	var in struct {
		SecretID           string   `json:"SecretId"`
		ClientRequestToken string   `json:"ClientRequestToken"`
		VersionStages      []string `json:"VersionStages"`
		VersionStage       string   `json:"VersionStage"`
		MoveToVersionID    string   `json:"MoveToVersionId"`
		RemoveFromVersion  string   `json:"RemoveFromVersionId"`
	}
	_ = json.Unmarshal(peek(r), &in)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	t.next.ServeHTTP(sw, r)
	rec := write{target: target, secretID: in.SecretID, version: in.ClientRequestToken + in.MoveToVersionID,
		removeFrom: in.RemoveFromVersion, stage: in.VersionStage + strings.Join(in.VersionStages, ","), status: sw.status}
	t.mu.Lock()
	t.writes = append(t.writes, rec)
	t.mu.Unlock()
}

func (t *writeTap) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.writes)
}

// since returns the writes after the first n.
func (t *writeTap) since(n int) []write {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.writes[n:])
}

// statusWriter notes the status of the answer it passes on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// onceWritten plays Secrets Manager's rule on PutSecretValue that moto
// 5.2.1 does not keep: a version's value is written once; the same value
// again succeeds and does nothing, another fails with
// ResourceExistsException. Only writes through it count.
type onceWritten struct {
	next http.Handler

	mu     sync.Mutex        // held across a write, so that two cannot both be first
	values map[string]string // by SecretId and ClientRequestToken
}

func (o *onceWritten) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId, ClientRequestToken, SecretString string }
	if r.Header.Get("X-Amz-Target") != faultproxy.PutSecretValue || json.Unmarshal(peek(r), &in) != nil || in.ClientRequestToken == "" {
		o.next.ServeHTTP(w, r)
		return
	}
	key := in.SecretId + " " + in.ClientRequestToken
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := o.values[key]; ok && v != in.SecretString {
		awsError(w, "ResourceExistsException", http.StatusBadRequest, "You can't modify an existing version, you can only create a new version. (emulated)")
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	o.next.ServeHTTP(sw, r)
	if sw.status/100 == 2 {
		o.values[key] = in.SecretString
	}
}

// meet hands every call to next, but makes the first two calls of at
// (writePending, or moveStage: the move of AWSCURRENT) meet: the first
// waits up to 2 s for the second, which goes on once the first has its
// answer.
func meet(next http.Handler, at call) http.Handler {
	var n atomic.Int32
	arrived, answered := make(chan struct{}), make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !matches(r, at) {
			next.ServeHTTP(w, r)
			return
		}
		switch n.Add(1) {
		case 1:
			select {
			case <-arrived:
			case <-time.After(2 * time.Second):
			}
			next.ServeHTTP(w, r)
			close(answered)
		case 2:
			close(arrived)
			<-answered
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// matches says whether r is a call of at: writePending, or moveStage (the
// move of AWSCURRENT).
func matches(r *http.Request, at call) bool {
	var in struct{ VersionStage, MoveToVersionId string }
	target := r.Header.Get("X-Amz-Target")
	_ = json.Unmarshal(peek(r), &in)
	return (at == writePending && target == faultproxy.PutSecretValue) ||
		(at == moveStage && target == faultproxy.UpdateSecretVersionStage && in.VersionStage == secretstore.StageCurrent && in.MoveToVersionId != "")
}

// loseAnswer hands every call to next, but of the first call of at
// (writePending, or moveStage: the move of AWSCURRENT) it throws the
// answer away and holds the caller until it gives up.
func loseAnswer(next http.Handler, at call) http.Handler {
	var lost atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !matches(r, at) || !lost.CompareAndSwap(false, true) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&statusWriter{ResponseWriter: discard{}, status: http.StatusOK}, r.Clone(context.WithoutCancel(r.Context())))
		<-r.Context().Done()
	})
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// awsError answers as Secrets Manager does with an error.
func awsError(w http.ResponseWriter, errType string, status int, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", errType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": errType, "message": message})
}

// denyPendingRemoval answers AccessDeniedException to the first
// UpdateSecretVersionStage that removes AWSPENDING without moving it, and
// hands every other call to next.
func denyPendingRemoval(next http.Handler) http.Handler {
	var denied atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			VersionStage    string `json:"VersionStage"`
			MoveToVersionID string `json:"MoveToVersionId"`
		}
		if r.Header.Get("X-Amz-Target") == faultproxy.UpdateSecretVersionStage {
			_ = json.Unmarshal(peek(r), &in)
		}
		if in.VersionStage == secretstore.StagePending && in.MoveToVersionID == "" && denied.CompareAndSwap(false, true) {
			f := faultproxy.AccessDenied()
			awsError(w, f.Type, f.Status, f.Message)
			return
		}
		next.ServeHTTP(w, r)
	})
}
