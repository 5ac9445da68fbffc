package oauthtoken

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The lifetimes this rotator keeps fresh. A shorter one is refused: Secrets
// Manager asks writers to stay under one PutSecretValue per 10 minutes per
// secret, sustained. A 20-minute token is kept on rate(12 minutes), 120
// writes a day, which leaves 24 (one an hour) for forced runs and retries
// before the 144 of one per 10 minutes; a 15-minute token would need a
// write every 10 minutes at most, already on that line. A longer one is
// taken for a broken endpoint rather than stored for years.
const (
	MinLifetime = 20 * time.Minute
	MaxLifetime = 7 * 24 * time.Hour
)

// Where a token's lifetime came from, in the order they are tried.
const (
	FromExpiresIn = "expires_in"
	FromJWT       = "jwt exp"
	FromSetting   = "TOKEN_LIFETIME"
)

// lifetime works out how long raw lives: its expires_in when the answer
// has one; else the exp claim of a JWT access token; else fallback (the
// TOKEN_LIFETIME setting) when above zero. It refuses a lifetime outside
// MinLifetime to MaxLifetime, and an answer it cannot date at all.
func lifetime(raw *oauth2.Token, received time.Time, fallback time.Duration) (time.Duration, string, *Error) {
	refuse := func(format string, args ...any) *Error {
		return &Error{Reason: "token response refused: " + fmt.Sprintf(format, args...)}
	}
	secs, present, ok := expiresIn(raw)
	switch {
	case present && !ok:
		return 0, "", refuse("expires_in is not a number, want a number of seconds above zero")
	case present && secs <= 0:
		return 0, "", refuse("expires_in is %d, want a number of seconds above zero", secs)
	case present && secs > int64(MaxLifetime/time.Second):
		return 0, "", refuse("expires_in is %d s, more than the %s this rotator accepts", secs, MaxLifetime)
	case present:
		return checkRange(time.Duration(secs)*time.Second, FromExpiresIn)
	}
	if exp, ok := jwtExp(raw.AccessToken); ok {
		life := time.Unix(exp, 0).Sub(received.Truncate(time.Second))
		if life <= 0 || life > MaxLifetime {
			return 0, "", refuse("no expires_in, and the access token's JWT exp (%s) is not within %s from now",
				time.Unix(exp, 0).UTC().Format(time.RFC3339), MaxLifetime)
		}
		return checkRange(life, FromJWT)
	}
	if fallback > 0 {
		return checkRange(fallback, FromSetting)
	}
	return 0, "", refuse("the answer has no expires_in and the access token is not a JWT with exp; " +
		"set TOKEN_LIFETIME to the provider's token lifetime (a Go duration such as 2h), or have the provider send expires_in")
}

func checkRange(life time.Duration, from string) (time.Duration, string, *Error) {
	if life < MinLifetime {
		return 0, "", &Error{Reason: fmt.Sprintf("token response refused: the token lives %s (from %s), less than the %s this rotator keeps fresh; "+
			"Secrets Manager asks for at most one write per 10 minutes per secret, so tokens this short need another store", life, from, MinLifetime)}
	}
	return life, from, nil
}

// expiresIn reads expires_in from the raw response: clientcredentials does
// not copy oauth2.Token.ExpiresIn, and the oauth2 package clamps it to 32
// bits. The value takes whatever type oauth2.Token.Extra gives: float64 for
// a JSON number, string for a JSON string (some providers send digits in
// one), and int64, float64 or string for a form-encoded answer. present is
// false when the answer has no expires_in (or an empty one); ok is false
// when it is there but not a whole number.
func expiresIn(raw *oauth2.Token) (secs int64, present, ok bool) {
	switch v := raw.Extra("expires_in").(type) {
	case nil:
		return 0, false, false
	case int64:
		return v, true, true
	case float64:
		if v != math.Trunc(v) || v > math.MaxInt64/2 || v < math.MinInt64/2 {
			return 0, true, false
		}
		return int64(v), true, true
	case json.Number:
		n, err := v.Int64()
		return n, true, err == nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, false, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, true, err == nil
	}
	return 0, true, false
}

// jwtExp returns the numeric exp claim of a JWT access token: three
// base64url parts whose middle one is a JSON object. There is no signature
// check, on purpose: the token came over TLS from TOKEN_URL, the rotator
// never trusts its claims for access decisions, and exp only schedules the
// next refresh. A token that lies about exp gets refreshed early or late,
// and the API it is sent to checks it anyway.
func jwtExp(token string) (int64, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return 0, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims.Exp == nil {
		return 0, false
	}
	if n, err := claims.Exp.Int64(); err == nil {
		return n, true
	}
	f, err := claims.Exp.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f > math.MaxInt64/2 || f < math.MinInt64/2 {
		return 0, false
	}
	return int64(f), true
}
