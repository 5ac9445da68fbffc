package templatecheck

import (
	"math"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"gopkg.in/yaml.v3"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
)

// The template's own secrets, written as Fn::Sub strings.
var (
	// ownSecretARN starts the ARN of any secret in the stack's account and
	// Region.
	ownSecretARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
	// stackPrefix is INTEGRATION_SECRET_PREFIX as the template writes it.
	stackPrefix = integration.SecretPrefix("${AWS::StackName}")
	// stackTagKey is the condition key that holds a statement to the
	// secrets tagged with the stack's name.
	stackTagKey = "secretsmanager:ResourceTag/" + integration.TagStack
)

// sensitiveSecretActions read or change a secret's value, or read its tags
// (DescribeSecret), which name an integration's credentials secret.
var sensitiveSecretActions = []string{
	"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
	"secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage",
	"secretsmanager:*",
}

// resourceTexts returns a statement's resources as text: a literal as is, an
// Fn::Sub by its string with its literal variables put in, and a Ref or
// Fn::GetAtt as "ref:" and the name it refers to (a parameter or resource,
// never a wildcard). Any other form fails the test, as no wildcard check
// could see through it.
func resourceTexts(t *testing.T, s statement) []string {
	t.Helper()
	var out []string
	for _, r := range list(s.m["Resource"]) {
		text, ok := resourceText(r)
		if !ok {
			t.Errorf("%s: Resource %v: want a literal, !Sub, !Ref or !GetAtt", s.where, r)
			continue
		}
		out = append(out, text)
	}
	return out
}

func resourceText(r any) (string, bool) {
	switch r := r.(type) {
	case string:
		return r, true
	case map[string]any:
		if len(r) != 1 {
			return "", false
		}
		if name, ok := r["Ref"].(string); ok {
			return "ref:" + name, true
		}
		if att, ok := r["Fn::GetAtt"].([]any); ok && len(att) > 0 {
			name, _ := att[0].(string)
			return "ref:" + name, true
		}
		switch sub := r["Fn::Sub"].(type) {
		case string:
			return sub, true
		case []any:
			if len(sub) != 2 {
				return "", false
			}
			str, ok := sub[0].(string)
			vars, _ := sub[1].(map[string]any)
			if !ok {
				return "", false
			}
			for name, v := range vars {
				if lit, ok := v.(string); ok {
					str = strings.ReplaceAll(str, "${"+name+"}", lit)
				}
			}
			return str, true
		}
	}
	return "", false
}

// subText returns the text of a literal or of an Fn::Sub without variables,
// as the template writes it.
func subText(v any) string {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		v = m["Fn::Sub"]
	}
	s, _ := v.(string)
	return s
}

// grants reports whether the action pattern a (IAM wildcards * and ?,
// any case) covers action.
func grants(a, action string) bool {
	ok, err := path.Match(strings.ToLower(a), strings.ToLower(action))
	return err == nil && ok
}

// broadSecretResource reports whether r names every secret, or every secret
// of an account: "*", or an ARN whose secret name starts with a wildcard.
func broadSecretResource(r string) bool {
	if r == "*" {
		return true
	}
	_, name, ok := strings.Cut(r, ":secret:")
	if !ok {
		return strings.HasPrefix(r, "arn:") && strings.ContainsAny(r, "*?")
	}
	return name == "" || strings.ContainsAny(name[:1], "*?")
}

// pinsStack reports whether s holds to the secrets tagged with the stack's
// name: StringEquals on stackTagKey to the stack's name (an IfExists or a
// Like operator would let untagged or other stacks' secrets through).
func pinsStack(s statement) bool {
	cond, _ := s.m["Condition"].(map[string]any)
	eq, _ := cond["StringEquals"].(map[string]any)
	v, ok := eq[stackTagKey]
	if !ok {
		return false
	}
	if vs, isList := v.([]any); isList {
		if len(vs) != 1 {
			return false
		}
		v = vs[0]
	}
	m, _ := v.(map[string]any)
	return len(m) == 1 && (m["Ref"] == "AWS::StackName" || m["Fn::Sub"] == "${AWS::StackName}")
}

// allowedWildcard says whether the wildcard resource r of the Allow
// statement s is one the fleet design needs, each held in its own test
// below: ListSecrets on "*", or a secret ARN of the stack's account held to
// the stack's tag.
func allowedWildcard(s statement, r string) bool {
	actions := s.actions()
	switch {
	case r == "*":
		return slices.Equal(actions, []string{"secretsmanager:ListSecrets"}) || getsWebIdentityTokens(s) // webidentity_test.go
	case r == ownKeyARN+"*":
		return signsAssertions(s) // signing_test.go
	case strings.HasPrefix(r, ownSecretARN) && pinsStack(s):
		for _, a := range actions {
			if !strings.HasPrefix(a, "secretsmanager:") {
				return false
			}
		}
		return true
	}
	return false
}

// statementBySid returns the one statement with Sid sid among those of the
// resource owner.
func statementBySid(t *testing.T, stmts []statement, owner, sid string) statement {
	t.Helper()
	var found []statement
	for _, s := range stmts {
		if strings.HasPrefix(s.where, owner+"/") && fmtSid(s.m) == sid {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s has %d statements with Sid %s, want 1", owner, len(found), sid)
	}
	return found[0]
}

// envPrefix returns RotatorFunction's INTEGRATION_SECRET_PREFIX as the
// template writes it.
func envPrefix(t *testing.T, tpl map[string]any) string {
	t.Helper()
	v := environment(t, tpl, "RotatorFunction")[config.EnvIntegrationSecretPrefix]
	if got := subText(v); got != stackPrefix {
		t.Fatalf("%s = %v, want !Sub %q, integration.SecretPrefix of the stack's name", config.EnvIntegrationSecretPrefix, v, stackPrefix)
	}
	return stackPrefix
}

// TestNoSecretWildcardWithoutStackTag holds that nothing reads, writes or
// describes every secret of the account, unless it is held to the secrets
// tagged with this stack's name.
func TestNoSecretWildcardWithoutStackTag(t *testing.T) {
	tpl := load(t)
	for _, s := range statements(t, tpl) {
		if s.m["Effect"] != "Allow" || pinsStack(s) {
			continue
		}
		for _, r := range resourceTexts(t, s) {
			if !broadSecretResource(r) {
				continue
			}
			for _, a := range s.actions() {
				for _, sensitive := range sensitiveSecretActions {
					if grants(a, sensitive) {
						t.Errorf("%s: %s on %q without StringEquals %s: ${AWS::StackName}", s.where, a, r, stackTagKey)
					}
				}
			}
		}
	}
}

// TestOnlyListSecretsOnEverything holds that the one action on Resource "*"
// is secretsmanager:ListSecrets, in one statement per function role, and
// that a comment next to it says why; besides sts:GetWebIdentityToken, which
// names no resource and is held to its conditions by
// TestWebIdentityGrantOnlyWhereUsed.
func TestOnlyListSecretsOnEverything(t *testing.T) {
	tpl := load(t)
	var onAll []statement
	for _, s := range statements(t, tpl) {
		if slices.Contains(resourceTexts(t, s), "*") && !getsWebIdentityTokens(s) {
			onAll = append(onAll, s)
			if got := s.actions(); !slices.Equal(got, []string{"secretsmanager:ListSecrets"}) {
				t.Errorf("%s: %v on \"*\", want only secretsmanager:ListSecrets", s.where, got)
			}
		}
	}
	// One per function role: the token rotator lists the integrations, the
	// client-secret rotator the credentials secrets carrying the switch tag.
	var owners []string
	for _, s := range onAll {
		owner, _, _ := strings.Cut(s.where, "/")
		owners = append(owners, owner)
	}
	slices.Sort(owners)
	if want := []string{"ClientSecretRotatorRole", "RotatorFunctionRole"}; !slices.Equal(owners, want) {
		t.Fatalf("statements on \"*\" in %v, want one in each of %v", owners, want)
	}
	comment := strings.ToLower(statementComments(loadNode(t), "secretsmanager:ListSecrets"))
	for _, why := range []string{"cannot be scoped", "list action", "never a secret value"} {
		if !strings.Contains(comment, why) {
			t.Errorf("the comment on the ListSecrets statement = %q, want it to say why it is on \"*\" (%q)", comment, why)
		}
	}
}

// statementComments returns the comments inside and above the mappings of
// the template whose Action names action.
func statementComments(n *yaml.Node, action string) string {
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && mappingHasAction(n, action) {
			out = append(out, comments(n)...)
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(out, "\n")
}

func mappingHasAction(n *yaml.Node, action string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "Action" {
			continue
		}
		v := n.Content[i+1]
		if v.Value == action {
			return true
		}
		for _, c := range v.Content {
			if c.Value == action {
				return true
			}
		}
	}
	return false
}

func comments(n *yaml.Node) []string {
	out := []string{n.HeadComment, n.LineComment, n.FootComment}
	for _, c := range n.Content {
		out = append(out, comments(c)...)
	}
	return out
}

// TestRotatorReachesAddedIntegrations holds the three statements that let
// the function keep the added integrations fresh to exactly their actions,
// resources and tag.
func TestRotatorReachesAddedIntegrations(t *testing.T) {
	tpl := load(t)
	prefix := envPrefix(t, tpl)
	stmts := statements(t, tpl)
	tests := []struct {
		sid      string
		actions  []string
		resource string
		tagged   bool
	}{
		{"ReadAddedCredentials", []string{"secretsmanager:GetSecretValue"}, ownSecretARN + "*", true},
		{"ReadAndWriteAddedTokens", []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, ownSecretARN + prefix + "*", true},
		{"ListIntegrations", []string{"secretsmanager:ListSecrets"}, "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.sid, func(t *testing.T) {
			s := statementBySid(t, stmts, "RotatorFunctionRole", tt.sid)
			if s.m["Effect"] != "Allow" {
				t.Errorf("Effect = %v, want Allow", s.m["Effect"])
			}
			if got := slices.Sorted(slices.Values(s.actions())); !slices.Equal(got, tt.actions) {
				t.Errorf("Action = %v, want %v", got, tt.actions)
			}
			if got := resourceTexts(t, s); !slices.Equal(got, []string{tt.resource}) {
				t.Errorf("Resource = %q, want [%q]", got, tt.resource)
			}
			if tt.tagged != pinsStack(s) {
				t.Errorf("Condition = %v, want StringEquals %s: ${AWS::StackName} %v", s.m["Condition"], stackTagKey, tt.tagged)
			}
			for op, keys := range conditionKeys(s) {
				for _, k := range keys {
					if k != stackTagKey {
						t.Errorf("Condition %s on %s, want only %s", op, k, stackTagKey)
					}
				}
			}
		})
	}
}

// conditionKeys returns the keys of a statement's Condition, by operator.
func conditionKeys(s statement) map[string][]string {
	out := map[string][]string{}
	cond, _ := s.m["Condition"].(map[string]any)
	for op, keys := range cond {
		m, _ := keys.(map[string]any)
		for k := range m {
			out[op] = append(out[op], k)
		}
	}
	return out
}

// readOnlySecretActions are the Secrets Manager actions that change
// nothing: a reader of a token secret may be allowed them. Every other
// action of the SDK's client writes a secret, its stages, its tags, its
// replicas or its resource policy.
var readOnlySecretActions = map[string]bool{
	"BatchGetSecretValue": true, "DescribeSecret": true, "GetRandomPassword": true, "GetResourcePolicy": true,
	"GetSecretValue": true, "ListResourcePolicies": true, "ListSecretVersionIds": true, "ListSecrets": true,
	"ValidateResourcePolicy": true,
}

// secretsManagerActions returns the names of the Secrets Manager
// operations, one per method of the SDK's client (an IAM action has its
// operation's name), so that an operation a newer SDK brings is classified
// here before the guard below can pass.
func secretsManagerActions(t *testing.T) []string {
	t.Helper()
	ty := reflect.TypeFor[*secretsmanager.Client]()
	var out []string
	for i := range ty.NumMethod() {
		if name := ty.Method(i).Name; name != "Options" {
			out = append(out, name)
		}
	}
	if len(out) < 20 {
		t.Fatalf("the Secrets Manager client has %d operations, want the 20 and more the service has", len(out))
	}
	return out
}

// readerGuardSid is the Sid of IntegrationTokenReaderPolicy's Deny.
const readerGuardSid = "ChangeNoIntegrationSecret"

// TestIntegrationTokenReaderPolicy holds that the policy readers of an
// added integration attach grants no secret (their grant is the token
// secret's resource policy, see readers_test.go), denies every write to
// the stack's integration secrets, whatever other policies allow, and
// decrypts through Secrets Manager only.
func TestIntegrationTokenReaderPolicy(t *testing.T) {
	tpl := load(t)
	prefix := envPrefix(t, tpl)
	if ty := get(t, tpl, "Resources", "IntegrationTokenReaderPolicy", "Type"); ty != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("IntegrationTokenReaderPolicy.Type = %v, want AWS::IAM::ManagedPolicy", ty)
	}
	var writes []string
	for _, a := range secretsManagerActions(t) {
		if !readOnlySecretActions[a] {
			writes = append(writes, "secretsmanager:"+a)
		}
	}
	slices.Sort(writes)
	doc := get(t, tpl, "Resources", "IntegrationTokenReaderPolicy", "Properties", "PolicyDocument")
	var guards, actions []string
	for _, item := range list(get(t, doc, "Statement")) {
		s := statement{where: "IntegrationTokenReaderPolicy/" + fmtSid(item.(map[string]any)), m: item.(map[string]any)}
		switch s.m["Effect"] {
		case "Deny":
			guards = append(guards, s.where)
			if fmtSid(s.m) != readerGuardSid {
				t.Errorf("%s: a Deny, want only %s", s.where, readerGuardSid)
			}
			if got := slices.Sorted(slices.Values(s.actions())); !slices.Equal(got, writes) {
				t.Errorf("%s: Action = %v, want every Secrets Manager action that is not read-only, %v", s.where, got, writes)
			}
			if got, want := resourceTexts(t, s), []string{ownSecretARN + prefix + "*"}; !slices.Equal(got, want) {
				t.Errorf("%s: Resource = %q, want %q, every integration secret of the stack", s.where, got, want)
			}
			if c, ok := s.m["Condition"]; ok {
				t.Errorf("%s: Condition %v, want none: the guard holds whoever asks", s.where, c)
			}
		case "Allow":
			for _, a := range s.actions() {
				actions = append(actions, a)
				if a != "kms:Decrypt" {
					t.Errorf("%s grants %s, want only kms:Decrypt: the token secret's resource policy grants the read", s.where, a)
					continue
				}
				if !isTokenKey(s.m["Resource"]) {
					t.Errorf("%s: %s on %v, want on the token key only, %v", s.where, a, s.m["Resource"], tokenKeyExpr)
				}
				if !hasViaService(s.m) {
					t.Errorf("%s: %s without a kms:ViaService condition", s.where, a)
				}
			}
		default:
			t.Errorf("%s: Effect = %v", s.where, s.m["Effect"])
		}
	}
	if len(guards) != 1 {
		t.Errorf("IntegrationTokenReaderPolicy Deny statements = %v, want exactly one, %s", guards, readerGuardSid)
	}
	// The guard holds whatever the parameters: it is no branch of an Fn::If.
	for _, item := range get(t, doc, "Statement").([]any) {
		if m, _ := item.(map[string]any); m["Fn::If"] != nil {
			for _, b := range branches(item) {
				if bm, _ := b.(map[string]any); bm["Effect"] == "Deny" {
					t.Errorf("IntegrationTokenReaderPolicy/%s is a Deny under Fn::If, want it unconditional", fmtSid(bm))
				}
			}
		}
	}
	if !slices.Equal(actions, []string{"kms:Decrypt"}) {
		t.Errorf("IntegrationTokenReaderPolicy allows %v, want only kms:Decrypt (when TokenKmsKeyArn is set)", actions)
	}
}

// sessionKeys are condition keys, and prefixes of keys, whose values the
// caller or its identity provider chooses when it starts a session: tags
// (sts:TagSession, SAML and OIDC attributes, Identity Center), names and
// source identities. A grant of a secret that depends on one grants it to
// whoever may start such a session.
var sessionKeys = []string{
	"aws:PrincipalTag/", "aws:RequestTag/", "aws:TagKeys", "saml:", "aws:userid", "aws:username",
	"aws:SourceIdentity", "sts:", "aws:FederatedProvider", "accounts.google.com:", "cognito-identity.amazonaws.com:",
	"graph.facebook.com:", "www.amazon.com:",
}

// resourceKeys are the only condition keys (by prefix) a grant to read a
// secret may depend on: tags of the secret itself, which only those who may
// tag it set.
var resourceKeys = []string{"secretsmanager:ResourceTag/", "aws:ResourceTag/"}

// TestNoSecretReadOnSessionKeys holds that no statement of the template
// that allows reading a secret depends on what a session carries: its
// Resource has no policy variable (${aws:PrincipalTag/...},
// ${aws:username}, ...: each is a value of the request), and its Condition
// names only the secret's own tags. A session tag overrides a role tag of
// the same key, so a grant named by a principal tag goes to whoever may tag
// a session.
func TestNoSecretReadOnSessionKeys(t *testing.T) {
	for _, s := range statements(t, load(t)) {
		if s.m["Effect"] != "Allow" || !readsSecrets(s) {
			continue
		}
		for _, r := range resourceTexts(t, s) {
			if strings.Contains(r, "${!") {
				t.Errorf("%s: Resource %q holds a policy variable: a value of the request, not of the secret", s.where, r)
			}
		}
		for op, keys := range conditionKeys(s) {
			for _, k := range keys {
				switch {
				case slices.ContainsFunc(sessionKeys, func(p string) bool { return strings.HasPrefix(k, p) }):
					t.Errorf("%s: Condition %s on %s, which a session sets", s.where, op, k)
				case !slices.ContainsFunc(resourceKeys, func(p string) bool { return strings.HasPrefix(k, p) }):
					t.Errorf("%s: Condition %s on %s, want only the secret's tags (%v)", s.where, op, k, resourceKeys)
				}
			}
		}
	}
}

// readsSecrets reports whether s allows a read-only Secrets Manager action.
func readsSecrets(s statement) bool {
	for _, a := range s.actions() {
		for read := range readOnlySecretActions {
			if grants(a, "secretsmanager:"+read) {
				return true
			}
		}
	}
	return false
}

// TestEnvIntegrationIsDefault holds that the stack's own integration is
// named as the function names it when INTEGRATION is unset.
func TestEnvIntegrationIsDefault(t *testing.T) {
	tpl := load(t)
	v := environment(t, tpl, "RotatorFunction")[config.EnvIntegration]
	name, _ := v.(string)
	if err := integration.CheckName(name); err != nil {
		t.Errorf("%s = %v: %v", config.EnvIntegration, v, err)
	}
	if name != integration.DefaultName {
		t.Errorf("%s = %v, want %q", config.EnvIntegration, v, integration.DefaultName)
	}
}

// TestTimeoutsCoverAFleet holds the arithmetic of RotatorFunction's Timeout
// and FirstToken's ServiceTimeout comments.
func TestTimeoutsCoverAFleet(t *testing.T) {
	const (
		fleet = 1000 // integrations due at once
		each  = time.Second
		// Lambda retries a failed asynchronous run twice, about 1 and 2
		// minutes later.
		retryWaits = 3 * time.Minute
	)
	tpl := load(t)
	props := get(t, tpl, "Resources", "RotatorFunction", "Properties").(map[string]any)
	timeout := time.Duration(props["Timeout"].(int)) * time.Second
	writes := time.Duration(math.Ceil(fleet/float64(rotation.DefaultWriteRate))) * time.Second
	batches := time.Duration(math.Ceil(fleet/float64(rotation.DefaultConcurrency))) * each
	for name, need := range map[string]time.Duration{
		"paced writes": writes + rotation.DefaultIntegrationTimeout,
		"batches":      batches + rotation.DefaultIntegrationTimeout,
	} {
		if timeout < need {
			t.Errorf("RotatorFunction.Timeout = %v, want at least %v for %d integrations (%s)", timeout, need, fleet, name)
		}
	}
	retries, _ := get(t, props, "EventInvokeConfig", "MaximumRetryAttempts").(int)
	service := time.Duration(get(t, tpl, "Resources", "FirstToken", "Properties", "ServiceTimeout").(int)) * time.Second
	if need := time.Duration(retries+1)*timeout + retryWaits; service < need {
		t.Errorf("FirstToken.ServiceTimeout = %v, want at least %v: %d runs of %v and the waits between them", service, need, retries+1, timeout)
	}
}
