package imsemu

import (
	"cmp"
	"net/http"
)

// ManagementFault replaces the answer to one management call (a list, an
// add, a remove): an error status, a reset connection, a hang, or, with
// CarriedOut, any of these after the call was carried out (a lost answer:
// an add then made a secret nobody got).
type ManagementFault struct {
	// Method limits the fault to calls of that method: GET lists, POST
	// adds, DELETE removes; empty matches any.
	Method string
	// Fault is the answer; only Delay, Hang, Reset, Status and RetryAfter
	// apply. A Status of 400 or more answers Adobe's error body.
	Fault Fault
	// CarriedOut runs the call before the fault answers.
	CarriedOut bool
}

// EnqueueManagement queues management faults; each management call takes
// the first queued one whose Method matches, before a sticky one applies.
func (s *Server) EnqueueManagement(f ...ManagementFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mqueue = append(s.mqueue, f...)
}

// SetManagementFault makes f apply to every matching management call once
// no queued one matches, until ClearFault.
func (s *Server) SetManagementFault(f ManagementFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msticky = &f
}

// nextManagementFault takes the fault for a call of method, if any.
func (s *Server) nextManagementFault(method string) (ManagementFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.mqueue {
		if f.Method == "" || f.Method == method {
			s.mqueue = append(s.mqueue[:i:i], s.mqueue[i+1:]...)
			return f, true
		}
	}
	if s.msticky != nil && (s.msticky.Method == "" || s.msticky.Method == method) {
		return *s.msticky, true
	}
	return ManagementFault{}, false
}

// serveManagementFault answers a management call with f and returns the
// status written, 0 when none, and the client id the call acted for.
func (s *Server) serveManagementFault(w http.ResponseWriter, r *http.Request, f ManagementFault) (int, string) {
	var clientID string
	if f.CarriedOut {
		_, clientID = s.manage(discardWriter{h: http.Header{}}, r)
	}
	if f.Fault.Delay > 0 && !s.wait(r, f.Fault.Delay) {
		return 0, clientID
	}
	switch {
	case f.Fault.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return 0, clientID
	case f.Fault.Reset:
		reset(w)
		return 0, clientID
	case f.Fault.Status == 0 && !f.CarriedOut:
		return s.manage(w, r)
	}
	if f.Fault.RetryAfter != "" {
		w.Header().Set("Retry-After", f.Fault.RetryAfter)
	}
	status := cmp.Or(f.Fault.Status, http.StatusInternalServerError)
	return writeMgmtError(w, status, errorCode(status), "emulated fault: "+cmp.Or(f.Fault.Name, http.StatusText(status))), clientID
}

// discardWriter takes the answer of a call carried out before its fault.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
