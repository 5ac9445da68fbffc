package rie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// FunctionError is a failed invocation: the handler returned an error (or
// panicked), or the invocation timed out.
type FunctionError struct {
	// Type is the errorType Lambda reports, such as "errorString" or
	// "*fmt.wrapError"; "TimeoutError" for a timeout.
	Type string `json:"errorType"`
	// Message is the handler's error message.
	Message string `json:"errorMessage"`
	// Status is the emulator's HTTP status for the invocation.
	Status int `json:"-"`
}

// Error describes the failed invocation.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error (%s): %s", e.Type, e.Message)
}

// parseFunctionError recognises the emulator's answers for a failed
// invocation: a JSON object with errorMessage and errorType, or its plain
// timeout message. It returns nil for anything else.
func parseFunctionError(status int, body []byte) *FunctionError {
	trimmed := bytes.TrimSpace(body)
	if msg := string(trimmed); strings.HasPrefix(msg, "Task timed out after") {
		return &FunctionError{Type: "TimeoutError", Message: msg, Status: status}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(trimmed, &fields) != nil {
		return nil
	}
	if _, ok := fields["errorMessage"]; !ok {
		return nil
	}
	if _, ok := fields["errorType"]; !ok {
		return nil
	}
	var fe FunctionError
	if json.Unmarshal(trimmed, &fe) != nil {
		return nil
	}
	fe.Status = status
	return &fe
}
