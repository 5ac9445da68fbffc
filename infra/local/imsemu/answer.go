package imsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// formType is the Content-Type of form-encoded answers (Config.FormAnswer).
const formType = "application/x-www-form-urlencoded"

// field is one member of an answer, in the order the provider documents.
// Its value is a string, an int64 or an []int.
type field struct {
	key   string
	value any
}

// grant is a token request that passed the checks.
type grant struct {
	clientID string
	scope    string
	form     url.Values
	now      time.Time
	lifetime int64
	token    string
}

// encodeJSON lays fields out as a JSON object, in order.
func encodeJSON(fields []field) []byte {
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(f.key)
		v, _ := json.Marshal(f.value)
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}')
}

// encodeForm lays fields out form-encoded, every value a string.
func encodeForm(fields []field) []byte {
	v := url.Values{}
	for _, f := range fields {
		switch x := f.value.(type) {
		case string:
			v.Add(f.key, x)
		case int64:
			v.Add(f.key, strconv.FormatInt(x, 10))
		case []int:
			for _, n := range x {
				v.Add(f.key, strconv.Itoa(n))
			}
		}
	}
	return []byte(v.Encode())
}

// without returns fields less the one named key.
func without(fields []field, key string) []field {
	return slices.DeleteFunc(fields, func(f field) bool { return f.key == key })
}

// jwt returns a JWT for g, signed with HMAC-SHA256 under key. Its claims
// are iss, sub and client_id (the client), aud (the audience or resource
// field, if any, unless extra sets it), scope (if any), extra, iat, exp and
// jti.
func jwt(key []byte, issuer string, g grant, extra []field) string {
	claims := []field{{"iss", issuer}, {"sub", g.clientID}, {"client_id", g.clientID}}
	for _, name := range []string{"audience", "resource"} {
		if aud := g.form.Get(name); aud != "" && !hasAudClaim(extra) {
			claims = append(claims, field{"aud", aud})
			break
		}
	}
	if g.scope != "" {
		claims = append(claims, field{"scope", g.scope})
	}
	claims = append(claims, extra...)
	claims = append(claims, field{"iat", g.now.Unix()}, field{"exp", g.now.Unix() + g.lifetime}, field{"jti", newToken()[:22]})
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(encodeJSON(claims))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// hasAudClaim reports whether extra already sets aud.
func hasAudClaim(extra []field) bool {
	return slices.ContainsFunc(extra, func(f field) bool { return f.key == "aud" })
}

// unixString is t in Unix seconds, as a string.
func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// scopeValues joins base and the values of scope not already in it, with
// spaces.
func scopeValues(base []string, scope string) string {
	out := slices.Clone(base)
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}
