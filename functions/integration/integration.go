// Package integration holds the names that tie an integration's pieces
// together: the rule for its name, the token secret's name and the tags that
// the rotator, the operator commands and IAM policies agree on.
//
// An integration is a name, a credentials secret, a token secret and its
// provider settings. One deployment keeps many fresh: the stack's own
// integration (named by INTEGRATION, "default" unless set) and any number
// added with make integration-add, each with a token secret named
//
//	integration.TokenSecretName("tokenrotator", "acme") // "tokenrotator/integrations/acme"
//
// and tagged with the credentials secret it is made from (TagCredentials).
// Consumers read an integration's token secret like any other: see package
// tokensecret. infra/ops/README.md ("Many integrations") has the whole design.
package integration

import (
	"fmt"
	"regexp"
)

// The tags that bind an integration's secrets to a stack.
const (
	// TagStack, on a credentials secret, lets the stack's rotator read it:
	// its role may read a secret only when this tag's value is the stack's
	// name. On a token secret it names the stack that keeps it fresh.
	TagStack = "tokenrotator:stack"
	// TagCredentials, on a token secret, is the ARN of the credentials
	// secret the token is made from. The rotator reads nothing else from
	// tags: settings that steer the token request come only from the
	// credentials secret's value or the function's environment.
	TagCredentials = "tokenrotator:credentials"
	// TagIntegration, on a token secret, is the integration's name.
	TagIntegration = "tokenrotator:integration"
	// TagClientSecretSwitch, on a credentials secret, marks a client
	// secret's retirement pending: "<version id> <RFC 3339 time>", the
	// version that became AWSCURRENT and when. The client-secret rotation
	// sets it before the switch and removes it once only the current
	// secret is left; trusted only while that version is AWSCURRENT.
	TagClientSecretSwitch = "tokenrotator:client-secret-switch"
)

// DefaultName is the name of the integration configured by the function's
// environment when INTEGRATION is unset.
const DefaultName = "default"

// MaxNameLength is the longest integration name.
const MaxNameLength = 40

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// CheckName returns an error unless name is a valid integration name:
// lower-case letters, digits and hyphens, starting with a letter or digit,
// at most 40 characters. Names appear in logs, metric dimensions, tag values
// and secret names, so they are kept plain.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("integration name %q is not valid: want 1 to %d lower-case letters, digits or hyphens, starting with a letter or digit", name, MaxNameLength)
	}
	return nil
}

// SecretPrefix is the name prefix of the token secrets of the integrations
// added to the stack named stack: the rotator's INTEGRATION_SECRET_PREFIX.
func SecretPrefix(stack string) string { return stack + "/integrations/" }

// TokenSecretName is the name of the token secret of the integration name
// added to the stack named stack.
func TokenSecretName(stack, name string) string { return SecretPrefix(stack) + name }
