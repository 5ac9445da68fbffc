package templatecheck

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// This file holds the readers in other accounts (parameters ReaderAccounts
// and ReaderOrgPath): the token secret's resource policy grants only
// GetSecretValue, only to those principals, and nothing when both are
// empty; the key the stack creates lets them only kms:Decrypt through
// Secrets Manager; the rotator's role and the reader policies use the key
// the token secret is encrypted with, and the role no other.

// tokenKeyExpr is the token key as the template writes it wherever it is
// used: the key the stack created, else TokenKmsKeyArn.
var tokenKeyExpr = map[string]any{"Fn::If": []any{"CreateTokenKey",
	map[string]any{"Fn::GetAtt": []any{"TokenKey", "Arn"}}, map[string]any{"Ref": "TokenKmsKeyArn"}}}

// isTokenKey reports whether v is tokenKeyExpr.
func isTokenKey(v any) bool { return reflect.DeepEqual(v, tokenKeyExpr) }

// Parameter values of the views below.
var (
	readerAccounts = []string{"222222222222", "333333333333"}
	readerOrgPath  = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"
)

// The expressions the statements for readers must hold to.
var (
	createdKeyARN = map[string]any{"Fn::GetAtt": []any{"TokenKey", "Arn"}}
	givenKeyARN   = map[string]any{"Ref": "TokenKmsKeyArn"}
	accountsRef   = map[string]any{"Ref": "ReaderAccounts"}
	viaSecrets    = map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
	// orgCondition holds a grant to "*" to the principals under the path, of
	// accounts other than the stack's: in the stack's account a grant to
	// "*" would need no IAM policy of the principal's own.
	orgCondition = map[string]any{
		"ForAnyValue:StringLike": map[string]any{"aws:PrincipalOrgPaths": map[string]any{"Fn::Sub": "${ReaderOrgPath}*"}},
		"StringNotEquals":        map[string]any{"aws:PrincipalAccount": map[string]any{"Ref": "AWS::AccountId"}},
	}
)

// readerCase is a choice of the parameters readers depend on.
type readerCase struct {
	name               string
	accounts, org, key bool // ReaderAccounts, ReaderOrgPath, TokenKmsKeyArn set
}

func (c readerCase) overrides() map[string]any {
	o := map[string]any{}
	if c.accounts {
		o["ReaderAccounts"] = readerAccounts
	}
	if c.org {
		o["ReaderOrgPath"] = readerOrgPath
	}
	if c.key {
		o["TokenKmsKeyArn"] = evalKMSKey
	}
	return o
}

// crossAccount reports whether the case names readers in other accounts.
func (c readerCase) crossAccount() bool { return c.accounts || c.org }

var readerCases = []readerCase{
	{name: "defaults"},
	{name: "key given, no readers", key: true},
	{name: "accounts", accounts: true},
	{name: "org path", org: true},
	{name: "accounts and org path", accounts: true, org: true},
	{name: "accounts, key given", accounts: true, key: true},
	{name: "org path, key given", org: true, key: true},
}

// paramValues returns the template's parameter values: overrides, else
// each parameter's Default (a CommaDelimitedList's split at commas, as
// CloudFormation does: "" is [""]).
func paramValues(t *testing.T, tpl map[string]any, overrides map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for name, p := range get(t, tpl, "Parameters").(map[string]any) {
		if v, ok := overrides[name]; ok {
			out[name] = v
			continue
		}
		def, ok := p.(map[string]any)["Default"].(string)
		if !ok {
			continue
		}
		if p.(map[string]any)["Type"] == "CommaDelimitedList" {
			out[name] = strings.Split(def, ",")
		} else {
			out[name] = def
		}
	}
	for name := range overrides {
		if _, ok := out[name]; !ok {
			t.Fatalf("override of %s, which is no parameter", name)
		}
	}
	return out
}

// conditionValue evaluates a condition expression with Fn::Equals, Fn::Not,
// Fn::And, Fn::Or, Condition, Ref to a parameter and Fn::Join; an error
// says it uses something else (the view leaves that condition undecided).
func conditionValue(conds, params map[string]any, expr any) (bool, error) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("condition %v is not one function", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return conditionValue(conds, params, conds[name])
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals %v", arg)
			}
			a, err := scalarValue(params, args[0])
			if err != nil {
				return false, err
			}
			b, err := scalarValue(params, args[1])
			return a == b, err
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not %v", arg)
			}
			v, err := conditionValue(conds, params, args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				v, err := conditionValue(conds, params, a)
				if err != nil {
					return false, err
				}
				if v != and {
					return v, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s is not modelled", fn)
	}
	panic("unreachable")
}

// scalarValue is the string value of a literal, a Ref to a String
// parameter, or an Fn::Join of a list parameter.
func scalarValue(params map[string]any, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case map[string]any:
		if name, ok := v["Ref"].(string); ok {
			s, ok := params[name].(string)
			if !ok {
				return "", fmt.Errorf("Ref %s is not a String parameter", name)
			}
			return s, nil
		}
		if args, ok := v["Fn::Join"].([]any); ok && len(args) == 2 {
			sep, _ := args[0].(string)
			ref, _ := args[1].(map[string]any)
			name, _ := ref["Ref"].(string)
			items, ok := params[name].([]string)
			if !ok {
				return "", fmt.Errorf("Fn::Join of %v, not of a list parameter", args[1])
			}
			return strings.Join(items, sep), nil
		}
	}
	return "", fmt.Errorf("value %v is not modelled", v)
}

// paramView returns the template as CloudFormation sees it with the
// parameters overrides: each condition the evaluator can decide is
// decided, its Fn::If pick one branch, AWS::NoValue drops what it stands
// for, and resources and outputs whose condition is false are gone.
func paramView(t *testing.T, overrides map[string]any) map[string]any {
	t.Helper()
	tpl := load(t)
	params := paramValues(t, tpl, overrides)
	conds := get(t, tpl, "Conditions").(map[string]any)
	truth := map[string]bool{}
	for name, expr := range conds {
		if v, err := conditionValue(conds, params, expr); err == nil {
			truth[name] = v
		}
	}
	for _, c := range []string{"HasReaderAccounts", "HasReaderOrgPath", "HasCrossAccountReaders", "CreateTokenKey", "UseTokenKey", "HasTokenKmsKey"} {
		if _, ok := truth[c]; !ok {
			t.Fatalf("condition %s could not be decided", c)
		}
	}
	return decided(tpl, truth)
}

// resourceOf returns the resource id of view, or nil when it has none.
func resourceOf(view map[string]any, id string) map[string]any {
	r, _ := view["Resources"].(map[string]any)[id].(map[string]any)
	return r
}

func TestReaderParameters(t *testing.T) {
	tpl := load(t)
	accounts := get(t, tpl, "Parameters", "ReaderAccounts").(map[string]any)
	if accounts["Type"] != "CommaDelimitedList" || accounts["Default"] != "" {
		t.Errorf("Parameters.ReaderAccounts = %v, want a CommaDelimitedList defaulting to empty", accounts)
	}
	org := get(t, tpl, "Parameters", "ReaderOrgPath").(map[string]any)
	if org["Type"] != "String" || org["Default"] != "" {
		t.Errorf("Parameters.ReaderOrgPath = %v, want a String defaulting to empty", org)
	}
	// CloudFormation matches a CommaDelimitedList's pattern against each item.
	for name, cases := range map[string]map[string]bool{
		"ReaderAccounts": {"": true, "123456789012": true, "12345678901": false, "1234567890123": false,
			"12345678901a": false, "arn:aws:iam::123456789012:root": false, "*": false},
		"ReaderOrgPath": {"": true, readerOrgPath: true, "o-a1b2c3d4e5/r-ab12/": true,
			"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/": true,
			"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111":                   false, "o-a1b2c3d4e5/": false, "o-a1b2c3d4e5/*": false,
			"*": false, "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*": false},
	} {
		re := parameterPattern(t, name)
		for v, want := range cases {
			if got := re.MatchString(v); got != want {
				t.Errorf("Parameters.%s pattern takes %q = %v, want %v", name, v, got, want)
			}
		}
	}
}

// TestTokenSecretResourcePolicy: without readers in other accounts the
// token secret has no resource policy; with them, one that allows only
// secretsmanager:GetSecretValue, on the secret, to ReaderAccounts (by their
// ids, which stand for their roots) and to the principals under
// ReaderOrgPath of other accounts, with BlockPublicPolicy.
func TestTokenSecretResourcePolicy(t *testing.T) {
	for _, c := range readerCases {
		t.Run(c.name, func(t *testing.T) {
			view := paramView(t, c.overrides())
			rp := resourceOf(view, "TokenSecretResourcePolicy")
			if !c.crossAccount() {
				if rp != nil {
					t.Fatalf("TokenSecretResourcePolicy exists without readers in other accounts: %v", rp)
				}
				for id, r := range view["Resources"].(map[string]any) {
					if get(t, r, "Type") == "AWS::SecretsManager::ResourcePolicy" {
						t.Errorf("%s is a resource policy without readers in other accounts", id)
					}
				}
				return
			}
			if rp == nil {
				t.Fatal("no TokenSecretResourcePolicy with readers in other accounts")
			}
			props := get(t, rp, "Properties").(map[string]any)
			if props["BlockPublicPolicy"] != true {
				t.Errorf("BlockPublicPolicy = %v, want true", props["BlockPublicPolicy"])
			}
			if r := refs(props["SecretId"]); !r["TokenSecret"] || len(r) != 1 {
				t.Errorf("SecretId = %v, want !Ref TokenSecret", props["SecretId"])
			}
			var sids []string
			for _, item := range list(get(t, props, "ResourcePolicy", "Statement")) {
				s := item.(map[string]any)
				sids = append(sids, fmtSid(s))
				checkReaderStatement(t, "TokenSecretResourcePolicy/"+fmtSid(s), s, "secretsmanager:GetSecretValue", nil)
			}
			want := readerSids(c, "ReaderAccountsReadToken", "ReaderOrgPathReadsToken")
			if !slices.Equal(sids, want) {
				t.Errorf("statements = %v, want %v", sids, want)
			}
		})
	}
}

// readerSids returns the Sids a policy must have for case c: the accounts'
// statement, then the organization path's.
func readerSids(c readerCase, accounts, org string) []string {
	var out []string
	if c.accounts {
		out = append(out, accounts)
	}
	if c.org {
		out = append(out, org)
	}
	return out
}

// checkReaderStatement holds a statement for readers in other accounts:
// Allow exactly action on "*" (the secret or key the policy is on), to
// ReaderAccounts, or to "*" under orgCondition; extra is the condition
// both must carry beside (kms:ViaService), with the accounts' own.
func checkReaderStatement(t *testing.T, where string, s map[string]any, action string, extra map[string]any) {
	t.Helper()
	for k := range s {
		if !slices.Contains([]string{"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}, k) {
			t.Errorf("%s: %s, want no element beyond Sid, Effect, Principal, Action, Resource and Condition", where, k)
		}
	}
	if s["Effect"] != "Allow" {
		t.Errorf("%s: Effect = %v, want Allow", where, s["Effect"])
	}
	if a := list(s["Action"]); !slices.Equal(a, []any{action}) {
		t.Errorf("%s: Action = %v, want only %s", where, a, action)
	}
	if r := list(s["Resource"]); !slices.Equal(r, []any{"*"}) {
		t.Errorf("%s: Resource = %v, want \"*\", what the policy is on", where, r)
	}
	principal, _ := s["Principal"].(map[string]any)
	want := map[string]any{}
	for k, v := range extra {
		want[k] = v
	}
	switch {
	case len(principal) == 1 && reflect.DeepEqual(principal["AWS"], accountsRef):
		if extra != nil {
			// KMS: the calling account must be one of them too.
			eq := map[string]any{}
			for k, v := range extra["StringEquals"].(map[string]any) {
				eq[k] = v
			}
			eq["kms:CallerAccount"] = accountsRef
			want["StringEquals"] = eq
		}
	case len(principal) == 1 && principal["AWS"] == "*":
		for k, v := range orgCondition {
			want[k] = v
		}
	default:
		t.Errorf("%s: Principal = %v, want {AWS: !Ref ReaderAccounts} or {AWS: \"*\"} under ReaderOrgPath", where, s["Principal"])
		return
	}
	got, _ := s["Condition"].(map[string]any)
	if len(want) == 0 && got == nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: Condition = %v, want %v", where, got, want)
	}
}

// TestTokenKey: the stack creates a key, with an alias, exactly when other
// accounts read and TokenKmsKeyArn is empty, and encrypts the token secret
// with it; its policy lets the stack's account administer it through IAM
// and the readers only kms:Decrypt through Secrets Manager. The token
// secret's key is, in every case, the one TokenKmsKeyArn reports.
func TestTokenKey(t *testing.T) {
	for _, c := range readerCases {
		t.Run(c.name, func(t *testing.T) {
			view := paramView(t, c.overrides())
			key, alias := resourceOf(view, "TokenKey"), resourceOf(view, "TokenKeyAlias")
			create := c.crossAccount() && !c.key
			if (key != nil) != create || (alias != nil) != create {
				t.Fatalf("TokenKey exists = %v, TokenKeyAlias exists = %v, want both %v", key != nil, alias != nil, create)
			}
			var wantKey any
			switch {
			case create:
				wantKey = createdKeyARN
			case c.key:
				wantKey = givenKeyARN
			}
			secretKey := get(t, view, "Resources", "TokenSecret", "Properties").(map[string]any)["KmsKeyId"]
			if !reflect.DeepEqual(secretKey, wantKey) {
				t.Errorf("TokenSecret.KmsKeyId = %v, want %v", secretKey, wantKey)
			}
			out, _ := view["Outputs"].(map[string]any)["TokenKmsKeyArn"].(map[string]any)
			if got := out["Value"]; !reflect.DeepEqual(got, wantKey) {
				t.Errorf("Outputs.TokenKmsKeyArn = %v, want %v: make integration-add creates token secrets with it", got, wantKey)
			}
			if !create {
				return
			}
			if r := refs(get(t, alias, "Properties", "TargetKeyId")); !r["TokenKey"] || len(r) != 1 {
				t.Errorf("TokenKeyAlias.TargetKeyId = %v, want !Ref TokenKey", get(t, alias, "Properties", "TargetKeyId"))
			}
			checkKeyPolicy(t, c, get(t, key, "Properties", "KeyPolicy"))
		})
	}
}

// checkKeyPolicy holds the created key's policy: the stack's account root
// may do everything (IAM then decides for its principals, as with the
// default key policy), and every other statement lets readers only
// kms:Decrypt through Secrets Manager.
func checkKeyPolicy(t *testing.T, c readerCase, doc any) {
	t.Helper()
	root := map[string]any{"AWS": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
	var sids []string
	for i, item := range list(get(t, doc, "Statement")) {
		s := item.(map[string]any)
		where := "TokenKey/" + fmtSid(s)
		if i == 0 {
			want := map[string]any{"Sid": "AccountAdministersKeyThroughIAM", "Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("%s = %v, want first %v", where, s, want)
			}
			continue
		}
		sids = append(sids, fmtSid(s))
		checkReaderStatement(t, where, s, "kms:Decrypt", map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaSecrets}})
	}
	want := readerSids(c, "ReaderAccountsDecryptThroughSecretsManager", "ReaderOrgPathDecryptsThroughSecretsManager")
	if !slices.Equal(sids, want) {
		t.Errorf("TokenKey reader statements = %v, want %v", sids, want)
	}
}

// TestTokenKeyUsers: whichever key encrypts the token secret, the rotator's
// role may encrypt and decrypt with it and the reader policies decrypt with
// it, through Secrets Manager; without one, none names a token key; and
// the role's KMS statements name only the credentials key and that key.
func TestTokenKeyUsers(t *testing.T) {
	for _, c := range readerCases {
		t.Run(c.name, func(t *testing.T) {
			view := paramView(t, c.overrides())
			secretKey := get(t, view, "Resources", "TokenSecret", "Properties").(map[string]any)["KmsKeyId"]
			for _, u := range []struct{ owner, sid string }{
				{"RotatorFunctionRole", "EncryptAndDecryptToken"}, {"TokenReaderPolicy", "DecryptToken"},
				{"IntegrationTokenReaderPolicy", "DecryptToken"},
			} {
				var found []statement
				for _, s := range statements(t, view) {
					if strings.HasPrefix(s.where, u.owner+"/") && fmtSid(s.m) == u.sid {
						found = append(found, s)
					}
				}
				switch {
				case secretKey == nil && len(found) != 0:
					t.Errorf("%s/%s = %v without a token key", u.owner, u.sid, found[0].m)
				case secretKey != nil && len(found) != 1:
					t.Errorf("%s has %d statements %s, want one on the token secret's key %v", u.owner, len(found), u.sid, secretKey)
				case secretKey != nil:
					if got := found[0].m["Resource"]; !reflect.DeepEqual(got, secretKey) {
						t.Errorf("%s/%s: Resource = %v, want the token secret's key %v", u.owner, u.sid, got, secretKey)
					}
					if !hasViaService(found[0].m) {
						t.Errorf("%s/%s: no kms:ViaService condition", u.owner, u.sid)
					}
				}
			}
			for _, s := range statements(t, view) {
				if !strings.HasPrefix(s.where, "RotatorFunctionRole/") || signsAssertions(s) {
					continue
				}
				for _, a := range s.actions() {
					if !strings.HasPrefix(a, "kms:") {
						continue
					}
					for _, r := range list(s.m["Resource"]) {
						if !reflect.DeepEqual(r, secretKey) && !reflect.DeepEqual(r, map[string]any{"Ref": "CredentialsKmsKeyArn"}) {
							t.Errorf("%s: %s on %v, want only the token secret's key or CredentialsKmsKeyArn", s.where, a, r)
						}
					}
				}
			}
		})
	}
}

// TestReaderAccountsOutput: output ReaderAccounts, rendered for each choice
// of the parameters, is what ops.ParseKeyReaders reads back as those
// parameters: make integration-readers checks readers against it.
func TestReaderAccountsOutput(t *testing.T) {
	for _, c := range readerCases {
		t.Run(c.name, func(t *testing.T) {
			tpl := load(t)
			params := paramValues(t, tpl, c.overrides())
			out := get(t, tpl, "Outputs", ops.OutputReaderAccounts).(map[string]any)
			if _, ok := out["Condition"]; ok {
				t.Errorf("Outputs.%s has a Condition, want it always: the operator tells an old stack by its absence", ops.OutputReaderAccounts)
			}
			sub, _ := get(t, out, "Value", "Fn::Sub").([]any)
			if len(sub) != 2 {
				t.Fatalf("Outputs.%s = %v, want !Sub [text, {variables}]", ops.OutputReaderAccounts, out["Value"])
			}
			text, _ := sub[0].(string)
			for name, v := range sub[1].(map[string]any) {
				val, err := scalarValue(params, v)
				if err != nil {
					t.Fatalf("Outputs.%s: %s: %v", ops.OutputReaderAccounts, name, err)
				}
				text = strings.ReplaceAll(text, "${"+name+"}", val)
			}
			text = strings.ReplaceAll(text, "${ReaderOrgPath}", params["ReaderOrgPath"].(string))
			got, err := ops.ParseKeyReaders(text)
			if err != nil {
				t.Fatalf("ops.ParseKeyReaders(%q) error = %v", text, err)
			}
			want := ops.KeyReaders{}
			if c.accounts {
				want.Accounts = readerAccounts
			}
			if c.org {
				want.OrgPath = readerOrgPath
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Outputs.%s = %q, read as %+v, want %+v", ops.OutputReaderAccounts, text, got, want)
			}
		})
	}
}
