package templatecheck

import (
	"reflect"
	"slices"
	"testing"
)

// audienceKey is the condition key of the audiences a GetWebIdentityToken
// request asks for (IAM outbound identity federation).
const audienceKey = "sts:IdentityTokenAudience"

// getsWebIdentityTokens says whether s is the grant aws_web_identity needs
// and no more: sts:GetWebIdentityToken, on "*" (the action names no
// resource), for the stack's one audience (ForAllValues:StringEquals on
// sts:IdentityTokenAudience, with Null false so that a request without the
// key is not let through), and at most the 300 seconds the function asks.
func getsWebIdentityTokens(s statement) bool {
	if !slices.Equal(s.actions(), []string{"sts:GetWebIdentityToken"}) {
		return false
	}
	if res := list(s.m["Resource"]); len(res) != 1 || res[0] != "*" {
		return false
	}
	cond, _ := s.m["Condition"].(map[string]any)
	all, _ := cond["ForAllValues:StringEquals"].(map[string]any)
	null, _ := cond["Null"].(map[string]any)
	le, _ := cond["NumericLessThanEquals"].(map[string]any)
	if len(cond) != 3 || len(all) != 1 || len(null) != 1 || len(le) != 1 {
		return false
	}
	aud := all[audienceKey]
	if aud == nil || reflect.DeepEqual(aud, "*") || len(list(aud)) != 2 { // !If [set, the parameter, Entra's default]
		return false
	}
	for _, a := range list(aud) {
		if a != "api://AzureADTokenExchange" && !reflect.DeepEqual(a, map[string]any{"Ref": "WebIdentityAudience"}) {
			return false
		}
	}
	return null[audienceKey] == "false" && (le["sts:DurationSeconds"] == 300 || le["sts:DurationSeconds"] == "300")
}

// TestWebIdentityGrantOnlyWhereUsed: the function's role may call
// sts:GetWebIdentityToken only under the condition UseWebIdentity (TokenAuth
// aws_web_identity, or a WebIdentityAudience set for added integrations),
// only for that audience, and no other statement grants it.
func TestWebIdentityGrantOnlyWhereUsed(t *testing.T) {
	tpl := load(t)
	var found []string
	for _, s := range statements(t, tpl) {
		if slices.ContainsFunc(s.actions(), func(a string) bool { return a == "sts:GetWebIdentityToken" || a == "sts:*" }) {
			found = append(found, s.where)
			if s.where != "RotatorFunctionRole/rotate-token#0/GetWebIdentityToken" || !getsWebIdentityTokens(s) {
				t.Errorf("%s: %v with Condition %v, want it only in the function's role, for the stack's audience, 300 s at most",
					s.where, s.actions(), s.m["Condition"])
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("statements granting sts:GetWebIdentityToken: %v, want exactly one", found)
	}
	doc := get(t, tpl, "Resources", "RotatorFunctionRole", "Properties", "Policies").([]any)[0]
	guarded := false
	for _, item := range get(t, doc, "PolicyDocument", "Statement").([]any) {
		m, _ := item.(map[string]any)
		args, ok := m["Fn::If"].([]any)
		if ok && len(args) == 3 && args[0] == "UseWebIdentity" && fmtSid(args[1].(map[string]any)) == "GetWebIdentityToken" &&
			reflect.DeepEqual(args[2], map[string]any{"Ref": "AWS::NoValue"}) {
			guarded = true
		}
	}
	if !guarded {
		t.Error("GetWebIdentityToken is not granted under !If [UseWebIdentity, ..., !Ref AWS::NoValue]")
	}
	want := map[string]any{"Fn::Or": []any{
		map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "TokenAuth"}, "aws_web_identity"}},
		map[string]any{"Condition": "HasWebIdentityAudience"}}}
	if got := get(t, tpl, "Conditions", "UseWebIdentity"); !reflect.DeepEqual(got, want) {
		t.Errorf("Conditions.UseWebIdentity = %v, want %v", got, want)
	}
}
