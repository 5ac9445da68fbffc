package tokensecret

import "errors"

// Errors a Source returns, wrapped with the secret id and the cause; test
// for them with errors.Is.
var (
	// ErrNotFound: the secret does not exist, or has no value yet (a
	// secret created without a value, before the first rotation).
	// Secrets Manager reports both as ResourceNotFoundException.
	ErrNotFound = errors.New("token secret not found")

	// ErrNoToken: the secret holds the placeholder written before the
	// first rotation ({}), not a token yet.
	ErrNoToken = errors.New("token secret holds no token yet")

	// ErrExpired: the only token to be had is past its expiry, and the
	// source will not return it. The rotator has stopped refreshing it.
	ErrExpired = errors.New("token expired")

	// ErrAccessDenied: Secrets Manager (or the Lambda extension) refused
	// the read. Check the caller's IAM policy and the secret's KMS key.
	ErrAccessDenied = errors.New("access to token secret denied")

	// ErrMalformed: the secret's value is not a token secret (not JSON, no
	// expiry, a token type other than bearer).
	ErrMalformed = errors.New("token secret is malformed")
)
