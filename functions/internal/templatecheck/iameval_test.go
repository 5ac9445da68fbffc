package templatecheck

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// This file is a small IAM evaluator, for the tests of who reads an added
// integration's token (readers_test.go). moto_server enforces no IAM, so
// these tests reason from IAM's documented evaluation logic instead (IAM
// User Guide: "Policy evaluation logic", "Policy evaluation for requests
// within a single account", "Cross-account policy evaluation logic",
// "IAM policy elements: Variables and tags", "Passing session tags in
// AWS STS"):
//
//   - an explicit Deny in any policy that applies to the request wins;
//   - within one account, an Allow in the principal's identity policies, or
//     in the resource policy naming the principal's own ARN, is enough; a
//     resource policy naming the account (:root) hands the decision to the
//     account's identity policies;
//   - across accounts, the identity policies and the resource policy must
//     both allow;
//   - Action matches with the wildcards * and ?, in any case; Resource with
//     the same wildcards, case-sensitively;
//   - a policy variable ${key} in a Resource takes the request's value of
//     key, and a key the request does not carry makes that Resource match
//     nothing;
//   - aws:PrincipalTag/K is the session's tag K when the session carries
//     one, else the role's: a session tag overrides a role tag of the same
//     key.
//
// It models Effect, Action, Resource, Principal {"AWS": ...} and Condition
// with StringEquals, StringLike, ForAllValues:StringEquals (true when the
// request has no value for the key, as IAM documents) and Null, and the
// context keys aws:PrincipalTag/*, aws:PrincipalArn, aws:PrincipalAccount,
// the secret's tags (secretsmanager:ResourceTag/* and aws:ResourceTag/*)
// and a tagging request's aws:TagKeys. Any other
// element, operator, key or principal fails the test rather than be
// guessed. It does not model service control or resource control
// policies, permissions boundaries, session policies, NotAction,
// NotResource, NotPrincipal, or KMS key policies: a decision of Allow here
// can still be denied by those, and a Deny stays a Deny.

// decision is what IAM decides for one request.
type decision int

const (
	implicitDeny decision = iota
	allowed
	explicitDeny
)

func (d decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// evalStatement is a policy statement with its values made concrete
// strings (see concreteStatement), and whether it sits under an Fn::If.
type evalStatement struct {
	where       string
	m           map[string]any
	conditional bool
}

// caller is the principal of a request: an IAM role (or user), possibly in
// a session carrying tags of its own.
type caller struct {
	name        string
	arn         string // the role's or user's ARN, what a resource policy names
	account     string
	roleTags    map[string]string
	sessionTags map[string]string
	identity    []evalStatement
}

// context returns the request context keys the evaluator models for the
// caller, each with its values (one, but for multivalued keys).
func (c caller) context() map[string][]string {
	ctx := map[string][]string{"aws:PrincipalArn": {c.arn}, "aws:PrincipalAccount": {c.account}}
	for k, v := range c.roleTags {
		ctx["aws:PrincipalTag/"+k] = []string{v}
	}
	for k, v := range c.sessionTags { // a session tag overrides the role's
		ctx["aws:PrincipalTag/"+k] = []string{v}
	}
	return ctx
}

// modelledKey reports whether key is a context key the evaluator knows the
// value of for every request: the caller's, the secret's tags, and the tag
// keys of a tagging request.
func modelledKey(key string) bool {
	return key == "aws:PrincipalArn" || key == "aws:PrincipalAccount" || strings.HasPrefix(key, "aws:PrincipalTag/") ||
		strings.HasPrefix(key, "secretsmanager:ResourceTag/") || strings.HasPrefix(key, "aws:ResourceTag/") || key == "aws:TagKeys"
}

// secretResource is a secret, its tags and its resource policy.
type secretResource struct {
	arn     string
	account string
	tags    map[string]string
	policy  []evalStatement
}

// evaluate decides whether c may do action on r.
func evaluate(t *testing.T, c caller, action string, r secretResource) decision {
	t.Helper()
	return evaluateTagging(t, c, action, nil, r)
}

// evaluateTagging decides whether c may do action on r, a TagResource or
// UntagResource request naming the tag keys tagKeys (aws:TagKeys).
func evaluateTagging(t *testing.T, c caller, action string, tagKeys []string, r secretResource) decision {
	t.Helper()
	ctx := c.context()
	for k, v := range r.tags {
		ctx["secretsmanager:ResourceTag/"+k] = []string{v}
		ctx["aws:ResourceTag/"+k] = []string{v}
	}
	if len(tagKeys) > 0 {
		ctx["aws:TagKeys"] = tagKeys
	}
	var idAllow, resDirect, resAccount, deny bool
	for _, s := range c.identity {
		if !statementApplies(t, s, ctx, action, r.arn) {
			continue
		}
		if s.m["Effect"] == "Deny" {
			deny = true
		} else {
			idAllow = true
		}
	}
	for _, s := range r.policy {
		direct, account := principalMatch(t, s, c)
		if !(direct || account) || !statementApplies(t, s, ctx, action, r.arn) {
			continue
		}
		switch {
		case s.m["Effect"] == "Deny":
			deny = true
		case direct:
			resDirect = true
		default:
			resAccount = true
		}
	}
	switch {
	case deny:
		return explicitDeny
	case c.account == r.account && (idAllow || resDirect):
		return allowed
	case c.account != r.account && idAllow && (resDirect || resAccount):
		return allowed
	}
	return implicitDeny
}

// principalMatch reports whether the resource policy statement s names the
// caller's own ARN (direct) or its account's root (account).
func principalMatch(t *testing.T, s evalStatement, c caller) (direct, account bool) {
	t.Helper()
	p, ok := s.m["Principal"].(map[string]any)
	if !ok || len(p) != 1 || p["AWS"] == nil {
		t.Fatalf("%s: Principal %v: the evaluator models only {\"AWS\": [ARNs]}", s.where, s.m["Principal"])
	}
	root := regexp.MustCompile(`^arn:aws[a-z-]*:iam::` + c.account + `:root$`)
	for _, v := range list(p["AWS"]) {
		arn, _ := v.(string)
		switch {
		case arn == "*" || strings.ContainsAny(arn, "*?"):
			t.Fatalf("%s: Principal %q: the evaluator does not model wildcard principals", s.where, arn)
		case arn == c.arn:
			direct = true
		case root.MatchString(arn):
			account = true
		}
	}
	return direct, account
}

// statementApplies reports whether s covers action on resource for a
// request with the context ctx.
func statementApplies(t *testing.T, s evalStatement, ctx map[string][]string, action, resource string) bool {
	t.Helper()
	for k := range s.m {
		switch k {
		case "Sid", "Effect", "Action", "Resource", "Principal", "Condition":
		default:
			t.Fatalf("%s: %s is not modelled by the evaluator", s.where, k)
		}
	}
	switch s.m["Effect"] {
	case "Allow":
	case "Deny":
		if s.conditional {
			t.Fatalf("%s: a Deny under Fn::If is not modelled: it holds for one choice of the parameters only", s.where)
		}
	default:
		t.Fatalf("%s: Effect %v", s.where, s.m["Effect"])
	}
	if !anyMatch(s.m["Action"], func(a string) bool { return wildcardMatch(strings.ToLower(a), strings.ToLower(action)) }) {
		return false
	}
	if !anyMatch(s.m["Resource"], func(r string) bool {
		r, ok := substituteVariables(t, s.where, r, ctx)
		return ok && wildcardMatch(r, resource)
	}) {
		return false
	}
	return conditionHolds(t, s, ctx)
}

func anyMatch(v any, match func(string) bool) bool {
	for _, x := range list(v) {
		if s, ok := x.(string); ok && match(s) {
			return true
		}
	}
	return false
}

// variableRE finds the policy variables in a Resource.
var variableRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// substituteVariables puts the request's values in place of the policy
// variables of r; ok is false when the request lacks one.
func substituteVariables(t *testing.T, where, r string, ctx map[string][]string) (string, bool) {
	t.Helper()
	ok := true
	out := variableRE.ReplaceAllStringFunc(r, func(v string) string {
		key := variableRE.FindStringSubmatch(v)[1]
		if !modelledKey(key) {
			t.Fatalf("%s: policy variable %s is not modelled by the evaluator", where, v)
		}
		vals := ctx[key]
		ok = ok && len(vals) == 1
		if len(vals) != 1 {
			return ""
		}
		return vals[0]
	})
	return out, ok
}

// conditionHolds evaluates the Condition of s: every operator and key must
// hold, each key matching one of its values.
func conditionHolds(t *testing.T, s evalStatement, ctx map[string][]string) bool {
	t.Helper()
	cond, _ := s.m["Condition"].(map[string]any)
	for op, keys := range cond {
		m, _ := keys.(map[string]any)
		for key, values := range m {
			if !modelledKey(key) {
				t.Fatalf("%s: condition key %s is not modelled by the evaluator", s.where, key)
			}
			vals := ctx[key]
			equals := func(v string) bool { return anyMatch(values, func(p string) bool { return p == v }) }
			var holds bool
			switch op {
			case "StringEquals":
				holds = len(vals) == 1 && equals(vals[0])
			case "StringLike":
				holds = len(vals) == 1 && anyMatch(values, func(p string) bool { return wildcardMatch(p, vals[0]) })
			case "ForAllValues:StringEquals":
				// Every value the request has is listed; none at all holds too.
				holds = !slices.ContainsFunc(vals, func(v string) bool { return !equals(v) })
			case "Null":
				want, _ := values.(string)
				holds = (want == "true") == (len(vals) == 0)
			default:
				t.Fatalf("%s: condition operator %s is not modelled by the evaluator", s.where, op)
			}
			if !holds {
				return false
			}
		}
	}
	return true
}

// wildcardMatch reports whether s matches pattern, where * matches any run
// of characters (slashes and colons too) and ? any one character.
func wildcardMatch(pattern, s string) bool {
	re := strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(regexp.QuoteMeta(pattern))
	return regexp.MustCompile(`^` + re + `$`).MatchString(s)
}

// A deployed stack's pseudo parameters, for concreteStatement.
const (
	evalPartition = "aws"
	evalRegion    = "eu-west-1"
	evalAccount   = "111111111111"
	evalStack     = "tokenrotator"
	evalKMSKey    = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	// evalCredentialsARN and evalTokenARN are the stack's own credentials
	// secret (parameter CredentialsSecretArn) and token secret (TokenSecret).
	evalCredentialsARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tokenrotator/adobe-credentials-AbCdEf"
	evalTokenARN       = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tokenrotator/token-ZyXwVu"
)

// evalRefs are the values concrete gives the references it models: the
// pseudo parameters, the two secrets and the keys, and the stack's own
// non-secret resources (as ARNs no secret statement can match).
var evalRefs = map[string]string{
	"AWS::Partition": evalPartition, "AWS::Region": evalRegion, "AWS::AccountId": evalAccount, "AWS::StackName": evalStack,
	"TokenKmsKeyArn": evalKMSKey, "TokenKey": evalKMSKey, "CredentialsKmsKeyArn": evalKMSKey,
	"CredentialsSecretArn": evalCredentialsARN, "TokenSecret": evalTokenARN, "WebIdentityAudience": "api://AzureADTokenExchange",
	"DeadLetterQueue":             "arn:aws:sqs:eu-west-1:111111111111:tokenrotator-DeadLetterQueue-x",
	"RotatorLogGroup":             "arn:aws:logs:eu-west-1:111111111111:log-group:tokenrotator-RotatorLogGroup-x:*",
	"ClientSecretRotatorLogGroup": "arn:aws:logs:eu-west-1:111111111111:log-group:tokenrotator-ClientSecretRotatorLogGroup-x:*",
}

// concrete returns v with its Fn::Sub and Ref made strings, as a deployed
// stack with a TokenKmsKeyArn would have them, through lists and maps.
func concrete(t *testing.T, where string, v any) any {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = concrete(t, where, x)
		}
		return out
	case map[string]any:
		if text, ok := resourceText(v); ok {
			if ref, isRef := strings.CutPrefix(text, "ref:"); isRef {
				v, ok := evalRefs[ref]
				if !ok {
					t.Fatalf("%s: a reference to %s is not modelled by the evaluator", where, ref)
				}
				return v
			}
			return strings.NewReplacer("${AWS::Partition}", evalPartition, "${AWS::Region}", evalRegion,
				"${AWS::AccountId}", evalAccount, "${AWS::StackName}", evalStack, "${!", "${").Replace(text)
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = concrete(t, where, x)
		}
		return out
	}
	return v
}

// policyStatements returns the statements of a policy document as the
// template writes it, made concrete; those under an Fn::If are marked
// conditional, each of its branches kept.
func policyStatements(t *testing.T, where string, doc any) []evalStatement {
	t.Helper()
	var out []evalStatement
	raw, _ := get(t, doc, "Statement").([]any)
	for _, item := range raw {
		m, _ := item.(map[string]any)
		_, conditional := m["Fn::If"]
		for _, b := range branches(item) {
			m, ok := b.(map[string]any)
			if !ok {
				t.Fatalf("%s: a statement is a %T", where, b)
			}
			out = append(out, evalStatement{where: where + "/" + fmtSid(m), m: concrete(t, where, m).(map[string]any), conditional: conditional})
		}
	}
	return out
}
