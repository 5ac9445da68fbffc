package faultproxy

import (
	"fmt"
	"net/http"
)

// Targets of the Secrets Manager operations the rotator calls, as sent in
// the X-Amz-Target header.
const (
	GetSecretValue           = "secretsmanager.GetSecretValue"
	PutSecretValue           = "secretsmanager.PutSecretValue"
	DescribeSecret           = "secretsmanager.DescribeSecret"
	UpdateSecretVersionStage = "secretsmanager.UpdateSecretVersionStage"
	TagResource              = "secretsmanager.TagResource"
	UntagResource            = "secretsmanager.UntagResource"
	ListSecrets              = "secretsmanager.ListSecrets"
)

// Targets of the KMS operations a private_key_jwt signer calls: KMS speaks
// the same AWS JSON 1.1 protocol, so the proxy faults its calls as it does
// Secrets Manager's (a rule for them names no SecretID).
const (
	KMSSign         = "TrentService.Sign"
	KMSGetPublicKey = "TrentService.GetPublicKey"
)

// Fault replaces the backend's answer to a call: an AWS JSON 1.1 error, or,
// with Timeout, no answer at all.
type Fault struct {
	// Type is the error's __type and X-Amzn-ErrorType, e.g. "ThrottlingException".
	Type string
	// Status is the HTTP status of the error answer.
	Status int
	// Message is the error's message.
	Message string
	// Timeout holds the call, answering nothing, until the client gives up
	// or the proxy is closed, then closes the connection; Type, Status and
	// Message are then unused.
	Timeout bool
	// Lost forwards the call first, so that Secrets Manager carries it
	// out, and then answers with the fault instead of its answer: a lost
	// answer.
	Lost bool
}

// String names the fault as a table would: "ThrottlingException (HTTP 400)"
// or "timeout (no answer)".
func (f Fault) String() string {
	s := fmt.Sprintf("%s (HTTP %d)", f.Type, f.Status)
	if f.Timeout {
		s = "timeout (no answer)"
	}
	if f.Lost {
		s = "carried out, then " + s
	}
	return s
}

// Throttling is the answer to a caller over its request rate.
func Throttling() Fault {
	return Fault{Type: "ThrottlingException", Status: http.StatusBadRequest, Message: "Rate exceeded"}
}

// InternalServiceError is Secrets Manager's own failure.
func InternalServiceError() Fault {
	return Fault{Type: "InternalServiceError", Status: http.StatusInternalServerError,
		Message: "An error occurred on the server side."}
}

// AccessDenied is the answer to a caller whose role lacks the permission.
func AccessDenied() Fault {
	return Fault{Type: "AccessDeniedException", Status: http.StatusBadRequest,
		Message: "User is not authorized to perform this operation on this resource (emulated)"}
}

// ResourceNotFound is the answer for a missing secret, or for a secret
// that has no AWSCURRENT value yet.
func ResourceNotFound() Fault {
	return Fault{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
		Message: "Secrets Manager can't find the specified secret. (emulated)"}
}

// DecryptionFailure is the answer when the secret's KMS key cannot be used.
func DecryptionFailure() Fault {
	return Fault{Type: "DecryptionFailure", Status: http.StatusBadRequest,
		Message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key. (emulated)"}
}

// Timeout holds the call until the client gives up, and answers nothing.
func Timeout() Fault {
	return Fault{Timeout: true}
}

// LostAnswer carries the call out, then hangs up without an answer.
func LostAnswer() Fault {
	return Fault{Timeout: true, Lost: true}
}

// Rule says which calls get a fault.
type Rule struct {
	// Target is the operation, e.g. GetSecretValue; required.
	Target string
	// SecretID, if not empty, limits the rule to calls whose SecretId is it.
	SecretID string
	// Fault is what the matching calls get.
	Fault Fault
	// Times is how many matching calls get the fault; 0 means every one.
	Times int
}

// String describes the rule: "ThrottlingException (HTTP 400) on every
// secretsmanager.GetSecretValue of app/token".
func (r Rule) String() string {
	n := "every"
	switch {
	case r.Times == 1:
		n = "the first"
	case r.Times > 1:
		n = fmt.Sprintf("the first %d", r.Times)
	}
	s := fmt.Sprintf("%s on %s %s", r.Fault, n, r.Target)
	if r.SecretID != "" {
		s += " of " + r.SecretID
	}
	return s
}
