package faultmatrix

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// invariants returns how the record breaks the invariants that hold in
// every case; a gap case is expected to break some.
func invariants(rec record) []string {
	var bad []string
	for i, d := range rec.deliveries {
		at := fmt.Sprintf("delivery %d: ", i+1)
		if rec.native != nil || rec.cs != nil {
			at = fmt.Sprintf("delivery %d (%s): ", i+1, d.step)
		}
		if rec.fleet == nil && rec.native == nil && rec.cs == nil {
			for _, v := range d.stateViolations() {
				bad = append(bad, at+v)
			}
			if d.putsOut > 1 {
				bad = append(bad, fmt.Sprintf("%s%d PutSecretValue calls reached Secrets Manager, want at most 1", at, d.putsOut))
			}
		}
		if d.ctxErr != nil || d.took >= deadline {
			bad = append(bad, fmt.Sprintf("%sthe run returned after %s, at or past its %s deadline (context: %v)", at, d.took.Round(time.Millisecond), deadline, d.ctxErr))
		}
		if d.err != nil && !ownError(d.err) {
			bad = append(bad, at+"the error is a bare context error, not the rotator's own: "+redact(d.err.Error(), rec))
		}
		if d.panicked != "" {
			bad = append(bad, at+"panic: "+redact(d.panicked, rec))
		}
	}
	bad = append(bad, leaks(rec)...)
	if rec.fleet != nil {
		bad = append(bad, fleetInvariants(rec)...)
	}
	if rec.native != nil {
		bad = append(bad, nativeInvariants(rec)...)
	}
	if rec.cs != nil {
		bad = append(bad, csInvariants(rec)...)
	}
	return bad
}

// ownError reports whether err says what the rotator was doing: a deadline
// may be its cause (a bounded call), but not the whole message.
func ownError(err error) bool {
	msg := err.Error()
	for _, bare := range []error{context.DeadlineExceeded, context.Canceled} {
		if strings.HasPrefix(msg, bare.Error()) || (errors.Is(err, bare) && msg == bare.Error()) {
			return false
		}
	}
	return strings.TrimSpace(msg) != ""
}

// stateViolations checks the token secret after a delivery: a complete,
// valid token; untouched by a run that wrote nothing; after a write, the
// token just issued, one new version, the old one as AWSPREVIOUS.
func (d delivery) stateViolations() []string {
	return stateViolations(d.before, d.after, d.err == nil && d.res.Rotated, d.res.VersionID, d.issued, clientID)
}

// stateViolations checks a token secret from before to after a run that
// wrote (and says it stored versionID) or not: a complete, valid token for
// client (unless it held none before and nothing was written); untouched
// by a run that wrote nothing; after a write, the last token issued during
// the run, one new version, the old one as AWSPREVIOUS.
func stateViolations(before, after snapshot, wrote bool, versionID string, issued []imsemu.Issued, client string) []string {
	var bad []string
	v, problem := secretstore.ParseToken(after.value)
	_, problemBefore := secretstore.ParseToken(before.value)
	switch {
	case problem != "" && (wrote || problemBefore == ""):
		bad = append(bad, "AWSCURRENT is no valid token: "+problem)
	case problem == "" && (v.ClientID != client || v.Scope != scope):
		bad = append(bad, fmt.Sprintf("AWSCURRENT is for client %q, scope %q; want %q, %q", v.ClientID, v.Scope, client, scope))
	}
	if !wrote {
		if after.current != before.current || after.value != before.value || after.versions != before.versions {
			bad = append(bad, fmt.Sprintf("a run that wrote nothing changed the secret: version %s -> %s, %d -> %d versions",
				before.current, after.current, before.versions, after.versions))
		}
		return bad
	}
	if after.versions != before.versions+1 || after.previous != before.current || after.current != versionID {
		bad = append(bad, fmt.Sprintf("after a rotation: %d -> %d versions, AWSPREVIOUS %s (want %s), AWSCURRENT %s (result says %s)",
			before.versions, after.versions, after.previous, before.current, after.current, versionID))
	}
	if len(issued) == 0 || v.AccessToken != issued[len(issued)-1].AccessToken {
		bad = append(bad, fmt.Sprintf("AWSCURRENT is not the last token issued during the run (%d issued)", len(issued)))
	}
	if !v.Expiry.After(time.Now()) {
		bad = append(bad, "the stored token has already expired")
	}
	return bad
}

// leaks returns where a client secret, in any form a request carries it
// (secretForms), a token, a URL's key, or a private_key_jwt assertion or
// its signature (assertionForms) shows up: logs, metrics, errors, results,
// panics.
func leaks(rec record) []string {
	secrets := append(clientSecretForms(rec), rec.seeded, urlKey)
	secrets = append(secrets, rec.faultTok...)
	secrets = append(secrets, assertionForms(rec.assertions)...)
	if rec.fleet != nil {
		secrets = append(secrets, malformedToken)
	}
	for _, m := range rec.members {
		secrets = append(secrets, m.seeded)
	}
	for _, i := range rec.issued {
		secrets = append(secrets, i.AccessToken)
	}
	texts := map[string]string{"logs": rec.logs, "metrics": rec.metrics}
	for i, d := range rec.deliveries {
		res, _ := json.Marshal(d.res)
		texts[fmt.Sprintf("delivery %d result", i+1)] = string(res) + fmt.Sprintf(" %+v %#v", d.res, d.res)
		if d.err != nil {
			texts[fmt.Sprintf("delivery %d error", i+1)] = d.err.Error() + fmt.Sprintf(" %+v %#v", d.err, d.err)
		}
		texts[fmt.Sprintf("delivery %d panic", i+1)] = d.panicked
	}
	var bad []string
	for where, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				bad = append(bad, fmt.Sprintf("secret material (%d chars) leaked in the %s", len(s), where))
			}
		}
	}
	return bad
}

// clientSecretForms are the forms (secretForms) of the client secrets of
// the record's integrations.
func clientSecretForms(rec record) []string {
	ids, secrets := []string{clientID}, []string{clientSecret}
	if rec.fleet != nil {
		secrets = append(secrets, wrongSecret)
	}
	for _, m := range rec.members {
		ids, secrets = append(ids, m.client), append(secrets, m.secret)
	}
	var forms []string
	for _, s := range secrets {
		forms = append(forms, secretForms(s, ids...)...)
	}
	return forms
}

// secretForms returns secret as it is, and in every form a token request
// carries it or a gateway echoing the request may print it, with any of
// ids as the client: form-encoded (+ or %20 for a space, upper- or
// lower-case escapes), the Basic header's base64 of the form-encoded
// "id:secret" (RFC 6749 section 2.3.1) and of the raw pair, in both
// alphabets, padded or not, and JSON-escaped to ASCII, with or without \/.
// It is worked out here, not taken from the code under test.
func secretForms(secret string, ids ...string) []string {
	q := url.QueryEscape(secret)
	sp := strings.ReplaceAll(q, "+", "%20")
	forms := []string{secret, q, lowerHex(q), sp, lowerHex(sp), asciiJSON(secret, false), asciiJSON(secret, true)}
	for _, id := range ids {
		for _, pair := range []string{url.QueryEscape(id) + ":" + q, id + ":" + secret} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				forms = append(forms, enc.EncodeToString([]byte(pair)))
			}
		}
	}
	return forms
}

// lowerHex lowers the hex digits of s's percent escapes.
func lowerHex(s string) string {
	return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(s, strings.ToLower)
}

// asciiJSON is s inside a JSON string with non-ASCII as \uXXXX and, if
// slash, / as \/.
func asciiJSON(s string, slash bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r < 0x80:
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		}
	}
	return b.String()
}

// withoutQuery is u up to its query.
func withoutQuery(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u
}

// expectations returns how the record differs from what the case says:
// outcomes, what the operator sees, request counts, timing.
func expectations(c matrixCase, rec record) []string {
	if c.native != nil {
		return nativeExpectations(c, rec)
	}
	if c.clientSecret != nil {
		return csExpectations(c, rec)
	}
	var bad []string
	if len(rec.deliveries) != len(c.want) {
		return []string{fmt.Sprintf("deliveries = %d, want %d", len(rec.deliveries), len(c.want))}
	}
	for i, d := range rec.deliveries {
		if got := d.outcome(); got != c.want[i] {
			bad = append(bad, fmt.Sprintf("delivery %d outcome = %s, want %s (error: %s)", i+1, got, c.want[i], errText(d.err, rec)))
		}
	}
	if text := seen(rec); !inOrder(text, c.sees) {
		bad = append(bad, fmt.Sprintf("operator sees %q, want the fragments %q", text, c.sees))
	}
	switch {
	case c.tokenRequests == none && rec.requests != 0:
		bad = append(bad, fmt.Sprintf("token requests = %d, want 0", rec.requests))
	case c.tokenRequests > 0 && rec.requests != c.tokenRequests:
		bad = append(bad, fmt.Sprintf("token requests = %d, want %d", rec.requests, c.tokenRequests))
	}
	if c.noRequest && (rec.calls != 0 || rec.requests != 0) {
		bad = append(bad, fmt.Sprintf("Secrets Manager calls = %d, token requests = %d; want none", rec.calls, rec.requests))
	}
	if rec.elsewhere != 0 {
		bad = append(bad, fmt.Sprintf("requests at the redirect target = %d, want 0", rec.elsewhere))
	}
	if took := rec.deliveries[0].took; took < c.minTook {
		bad = append(bad, fmt.Sprintf("run took %s, want at least %s", took.Round(time.Millisecond), c.minTook))
	}
	if c.fleet != nil {
		bad = append(bad, fleetExpectations(c, rec)...)
	}
	if c.reported != "" && (len(rec.cfnReports) != len(rec.deliveries) || slices.ContainsFunc(rec.cfnReports, func(s string) bool { return s != c.reported })) {
		bad = append(bad, fmt.Sprintf("reported to CloudFormation %q, want %s once per delivery", rec.cfnReports, c.reported))
	}
	return bad
}

// seen is what the operator sees: the errors, then the log lines rendered
// "LEVEL message: reason", with the case's ids and URLs made canonical.
func seen(rec record) string {
	var parts []string
	for _, d := range rec.deliveries {
		if d.err != nil {
			parts = append(parts, errText(d.err, rec))
		}
	}
	for line := range strings.SplitSeq(rec.logs, "\n") {
		var l struct{ Level, Msg, Reason, Integration string }
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		s := l.Level + " " + l.Msg
		if rec.fleet != nil && l.Integration != "" {
			s = l.Level + " [" + l.Integration + "] " + l.Msg
		}
		if l.Reason != "" {
			s += ": " + l.Reason
		}
		parts = append(parts, redact(s, rec))
	}
	return strings.Join(parts, " | ")
}

func errText(err error, rec record) string {
	if err == nil {
		return "none"
	}
	return redact(err.Error(), rec)
}

// redact makes the case's own ids and URLs canonical and joins lines; it
// also hides secret material, so that a failure message never shows any.
func redact(s string, rec record) string {
	pairs := []string{"\n", " "}
	canon := [][2]string{
		{rec.credsID, "app/credentials"}, {rec.tokenID, "app/token"}, {rec.tokenURL, "$TOKEN_URL"}, {withoutQuery(rec.tokenURL), "$TOKEN_URL"},
		{rec.elseURL, "https://elsewhere.example"}, {rec.proxyURL, "$AWS_ENDPOINT_URL"}, {rec.seeded, "[SECRET]"},
	}
	for _, f := range clientSecretForms(rec) {
		canon = append(canon, [2]string{f, "[SECRET]"})
	}
	for _, p := range append(aliases(rec), canon...) {
		if p[0] != "" {
			pairs = append(pairs, p[0], p[1])
		}
	}
	for _, tok := range rec.faultTok {
		pairs = append(pairs, tok, "[SECRET]")
	}
	for _, a := range assertionForms(rec.assertions) {
		pairs = append(pairs, a, "[SECRET]")
	}
	if rec.signingKey != "" {
		pairs = append(pairs, rec.signingKey, "$SIGNING_KEY")
	}
	for _, i := range rec.issued {
		if i.AccessToken != "" {
			pairs = append(pairs, i.AccessToken, "[SECRET]")
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// inOrder reports whether the " … "-separated fragments appear in text in order.
func inOrder(text, fragments string) bool {
	for f := range strings.SplitSeq(fragments, " … ") {
		i := strings.Index(text, f)
		if i < 0 {
			return false
		}
		text = text[i+len(f):]
	}
	return true
}
