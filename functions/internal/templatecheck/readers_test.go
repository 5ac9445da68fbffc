package templatecheck

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// oldReaderStatement is IntegrationTokenReaderPolicy's grant before issue
// 20: the token secret named by the caller's tag. The tests below run on it
// too, to show that the evaluator finds the hole a session tag opens.
const oldReaderStatement = `
Sid: ReadTaggedIntegrationToken
Effect: Allow
Action: secretsmanager:GetSecretValue
Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/integrations/${!aws:PrincipalTag/tokenrotator:integration}-??????"
`

// The world of the reader tests: the stack's account, a partner's, and
// the principals they hold.
const (
	partnerAccount = "222222222222"
	acmeReader     = "arn:aws:iam::" + evalAccount + ":role/acme-service"
	globexReader   = "arn:aws:iam::" + evalAccount + ":role/globex-service"
	intruder       = "arn:aws:iam::" + evalAccount + ":role/intruder"
	partnerReader  = "arn:aws:iam::" + partnerAccount + ":role/partner"
	partnerOther   = "arn:aws:iam::" + partnerAccount + ":role/partner-other"
)

// tokenARN is the ARN of the added integration name's token secret, with
// the suffix Secrets Manager gave it.
func tokenARN(name, suffix string) string {
	return "arn:aws:secretsmanager:" + evalRegion + ":" + evalAccount + ":secret:" + integration.SecretPrefix(evalStack) + name + "-" + suffix
}

// tokenSecrets are three added integrations' token secrets, each with the
// resource policy make integration-readers puts on it (ops.ReaderPolicy):
// acme's lists its reader and a partner's role, globex's its reader, and
// acme-eu has none, as make integration-add leaves one without READERS.
func tokenSecrets(t *testing.T) map[string]secretResource {
	t.Helper()
	withReaders := func(name, suffix string, readers ...string) secretResource {
		r := secretResource{arn: tokenARN(name, suffix), account: evalAccount}
		if len(readers) == 0 {
			return r
		}
		policy, err := ops.ReaderPolicy(readers)
		if err != nil {
			t.Fatalf("ops.ReaderPolicy(%q) error = %v", readers, err)
		}
		var doc any
		if err := json.Unmarshal([]byte(policy), &doc); err != nil {
			t.Fatalf("ops.ReaderPolicy(%q) = %s: %v", readers, policy, err)
		}
		r.policy = policyStatements(t, name+"'s resource policy", doc)
		return r
	}
	return map[string]secretResource{
		"acme":    withReaders("acme", "AbCdEf", acmeReader, partnerReader),
		"globex":  withReaders("globex", "XyZabc", globexReader),
		"acme-eu": withReaders("acme-eu", "QwErTy"),
	}
}

// callers are the principals asking, with the integrations each may read:
// a listed principal reads exactly the secrets that list it, whatever tags
// its role or session carries. identity is what a reader in the stack's
// account attaches (IntegrationTokenReaderPolicy); partnerIdentity what a
// role of the partner's account has in its own account.
func callers(identity, partnerIdentity []evalStatement) []struct {
	c     caller
	reads []string
} {
	tag := func(v string) map[string]string { return map[string]string{integration.TagIntegration: v} }
	in := func(arn, account string, ids []evalStatement) caller {
		return caller{arn: arn, account: account, identity: ids}
	}
	type row = struct {
		c     caller
		reads []string
	}
	rows := []row{
		{in(acmeReader, evalAccount, identity), []string{"acme"}},
		{in(globexReader, evalAccount, identity), []string{"globex"}},
		{in(intruder, evalAccount, identity), nil},
		{in(partnerReader, partnerAccount, partnerIdentity), []string{"acme"}},
		{in(partnerOther, partnerAccount, partnerIdentity), nil},
	}
	var out []row
	for _, r := range rows {
		name := r.c.arn[strings.LastIndex(r.c.arn, "/")+1:]
		plain := r.c
		plain.name = name + ", untagged"
		roleTagged := r.c
		roleTagged.name, roleTagged.roleTags = name+", role tagged acme", tag("acme")
		for _, v := range []string{"globex", "acme-eu", "acme"} {
			s := roleTagged
			s.name, s.sessionTags = name+", role tagged acme, session tagged "+v, tag(v)
			out = append(out, row{s, r.reads})
		}
		out = append(out, row{plain, r.reads}, row{roleTagged, r.reads})
	}
	return out
}

// readerViolations returns every request that the evaluator decides
// otherwise than the readers design wants: GetSecretValue allowed exactly
// on the secrets that list the caller, and no write to any token secret,
// even for a caller whose other policies allow every write.
func readerViolations(t *testing.T, identity []evalStatement) []string {
	t.Helper()
	secrets := tokenSecrets(t)
	partnerIdentity := policyStatements(t, "the partner's own policy", map[string]any{"Statement": []any{map[string]any{
		"Sid": "ReadStackTokens", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
		"Resource": "arn:aws:secretsmanager:" + evalRegion + ":" + evalAccount + ":secret:" + integration.SecretPrefix(evalStack) + "*",
	}}})
	var wrong []string
	for _, row := range callers(identity, partnerIdentity) {
		for _, name := range slices.Sorted(maps.Keys(secrets)) {
			got := evaluate(t, row.c, "secretsmanager:GetSecretValue", secrets[name])
			want := map[bool]decision{true: allowed, false: implicitDeny}[slices.Contains(row.reads, name)]
			if got != want {
				wrong = append(wrong, row.c.name+": GetSecretValue on "+name+": "+got.String()+", want "+want.String())
			}
		}
	}

	// A reader whose other policies allow every Secrets Manager action
	// (an AWS managed policy such as SecretsManagerReadWrite) still may not
	// grant itself another integration, nor change a token.
	broad := policyStatements(t, "a broad policy", map[string]any{"Statement": []any{map[string]any{
		"Sid": "EverySecret", "Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*",
	}}})
	writer := caller{name: "acme-service with a broad policy too", arn: acmeReader, account: evalAccount, identity: append(slices.Clone(identity), broad...)}
	for _, action := range secretsManagerActions(t) {
		if readOnlySecretActions[action] {
			continue
		}
		for _, name := range []string{"acme", "globex"} {
			if got := evaluate(t, writer, "secretsmanager:"+action, secrets[name]); got != explicitDeny {
				wrong = append(wrong, writer.name+": "+action+" on "+name+": "+got.String()+", want explicit deny")
			}
		}
	}
	return wrong
}

// readerPolicyStatements returns IntegrationTokenReaderPolicy's statements.
func readerPolicyStatements(t *testing.T) []evalStatement {
	t.Helper()
	doc := get(t, load(t), "Resources", "IntegrationTokenReaderPolicy", "Properties", "PolicyDocument")
	return policyStatements(t, "IntegrationTokenReaderPolicy", doc)
}

// TestOnlyListedPrincipalsReadAnIntegration: with the template's
// IntegrationTokenReaderPolicy and the resource policies make
// integration-readers writes, a principal reads exactly the token secrets
// that list it (a role of another account too, with its own account's
// grant), whatever tags its role or session carries; none reads a secret
// that lists nobody; and a reader cannot change a token secret or its
// policy, even when another of its policies would let it.
func TestOnlyListedPrincipalsReadAnIntegration(t *testing.T) {
	for _, w := range readerViolations(t, readerPolicyStatements(t)) {
		t.Error(w)
	}
}

// TestEvaluatorFindsTheTagHole runs the same requests against the grant
// the template had before (the secret named by aws:PrincipalTag), which
// let a session tag name any integration: the evaluator must find it, or
// TestOnlyListedPrincipalsReadAnIntegration proves nothing.
func TestEvaluatorFindsTheTagHole(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(oldReaderStatement), &n); err != nil {
		t.Fatal(err)
	}
	old, err := convert(&n)
	if err != nil {
		t.Fatal(err)
	}
	wrong := readerViolations(t, policyStatements(t, "the old IntegrationTokenReaderPolicy", map[string]any{"Statement": []any{old}}))
	for _, hole := range []string{
		"intruder, role tagged acme, session tagged globex: GetSecretValue on globex: allow, want implicit deny",
		"acme-service, role tagged acme, session tagged globex: GetSecretValue on globex: allow, want implicit deny",
		"acme-service, role tagged acme, session tagged acme-eu: GetSecretValue on acme-eu: allow, want implicit deny",
		"intruder, role tagged acme: GetSecretValue on acme: allow, want implicit deny",
		"acme-service with a broad policy too: PutResourcePolicy on globex: allow, want explicit deny",
	} {
		if !slices.Contains(wrong, hole) {
			t.Errorf("with the old statement, the evaluator did not find %q; it found:\n%s", hole, strings.Join(wrong, "\n"))
		}
	}
	// A role of another account cannot attach the stack's policy: the
	// session tag names nothing it could read there.
	for _, w := range wrong {
		if strings.HasPrefix(w, "partner") {
			t.Errorf("with the old statement: %s, want the partner's reads decided by its own policy and the resource policy alone", w)
		}
	}
}
