package templatecheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// clientSecretCondition holds when ClientSecretRotation is adobe.
const clientSecretCondition = "RotateClientSecret"

// switchTag is the tag the client-secret rotation keeps its retirement
// state in (see functions/internal/clientsecret).
const switchTag = "tokenrotator:client-secret-switch"

// clientSecretNames are issue 17's two settings. config.Names() lists them
// once the config part of the issue is in; until then the template carries
// them ahead of it, and settingNames adds them.
var clientSecretNames = []string{"CLIENT_SECRET_ROTATION", "MANAGEMENT_URL"}

// settingNames is config.Names() with clientSecretNames.
func settingNames() []string {
	names := config.Names()
	for _, n := range clientSecretNames {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// clientSecretResources are what ClientSecretRotation adobe adds.
var clientSecretResources = []string{"ClientSecretRotatorFunction", "ClientSecretRotatorRole", "ClientSecretRotatorLogGroup",
	"ClientSecretInvokePermission", "CredentialsRotationSchedule", "ClientSecretRetireSchedule",
	"ClientSecretRetireScheduleRole", "ClientSecretErrorsAlarm"}

// clientSecretViews returns the template under each engine with the
// client-secret rotation on.
func clientSecretViews(t *testing.T) map[string]map[string]any {
	t.Helper()
	tpl := load(t)
	out := map[string]map[string]any{}
	for engine := range engineConditions {
		truth := map[string]bool{clientSecretCondition: true}
		for value, cond := range engineConditions {
			truth[cond] = value == engine
		}
		out[engine] = decided(tpl, truth)
	}
	return out
}

func TestClientSecretRotationParameter(t *testing.T) {
	tpl := load(t)
	p := get(t, tpl, "Parameters", "ClientSecretRotation").(map[string]any)
	if p["Default"] != "none" || !slices.Equal(list(p["AllowedValues"]), []any{"none", "adobe"}) {
		t.Errorf("Parameters.ClientSecretRotation = %v, want AllowedValues [none adobe], Default none", p)
	}
	want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "ClientSecretRotation"}, "adobe"}}
	if got := get(t, tpl, "Conditions", clientSecretCondition); !reflect.DeepEqual(got, want) {
		t.Errorf("Conditions.%s = %v, want !Equals [!Ref ClientSecretRotation, adobe]", clientSecretCondition, got)
	}
	for _, id := range clientSecretResources {
		if c := get(t, tpl, "Resources", id, "Condition"); c != clientSecretCondition {
			t.Errorf("%s.Condition = %v, want %s", id, c, clientSecretCondition)
		}
	}
	// Off, none of it is there, in either engine; on, all of it, and nothing
	// refers to what is not there.
	for engine, view := range views(t) {
		for _, id := range clientSecretResources {
			if _, ok := get(t, view, "Resources").(map[string]any)[id]; ok {
				t.Errorf("RotationEngine %s, ClientSecretRotation none: %s exists", engine, id)
			}
		}
	}
	for engine, view := range clientSecretViews(t) {
		for _, id := range clientSecretResources {
			if _, ok := get(t, view, "Resources").(map[string]any)[id]; !ok {
				t.Errorf("RotationEngine %s, ClientSecretRotation adobe: %s is missing", engine, id)
			}
		}
		checkRefsExist(t, engine+" with the client-secret rotation", view)
	}
}

// TestClientSecretFunction: the same program, built the same way, as
// RotatorFunction, with every setting RotatorFunction has, at the same
// value, but CLIENT_SECRET_ROTATION adobe; its own role and log group.
func TestClientSecretFunction(t *testing.T) {
	tpl := load(t)
	rot := get(t, tpl, "Resources", "RotatorFunction").(map[string]any)
	cs := get(t, tpl, "Resources", "ClientSecretRotatorFunction").(map[string]any)
	if cs["Type"] != rot["Type"] || !reflect.DeepEqual(cs["Metadata"], rot["Metadata"]) {
		t.Errorf("ClientSecretRotatorFunction Type, Metadata = %v, %v, want RotatorFunction's %v, %v", cs["Type"], cs["Metadata"], rot["Type"], rot["Metadata"])
	}
	rp, cp := get(t, rot, "Properties").(map[string]any), get(t, cs, "Properties").(map[string]any)
	for _, key := range []string{"CodeUri", "Handler", "Runtime", "Architectures", "MemorySize"} {
		if !reflect.DeepEqual(cp[key], rp[key]) {
			t.Errorf("ClientSecretRotatorFunction.%s = %v, want RotatorFunction's %v", key, cp[key], rp[key])
		}
	}
	if r := refs(cp["Role"]); !r["ClientSecretRotatorRole"] || len(r) != 1 {
		t.Errorf("ClientSecretRotatorFunction.Role = %v, want !GetAtt ClientSecretRotatorRole.Arn", cp["Role"])
	}
	if r := refs(get(t, cp, "LoggingConfig", "LogGroup")); !r["ClientSecretRotatorLogGroup"] {
		t.Errorf("ClientSecretRotatorFunction's log group = %v, want ClientSecretRotatorLogGroup", r)
	}
	rotEnv, csEnv := environment(t, tpl, "RotatorFunction"), environment(t, tpl, "ClientSecretRotatorFunction")
	if got, want := slices.Sorted(maps.Keys(csEnv)), slices.Sorted(slices.Values(settingNames())); !slices.Equal(got, want) {
		t.Errorf("ClientSecretRotatorFunction environment = %v, want config.Names() = %v", got, want)
	}
	for name, v := range rotEnv {
		want := v
		if name == "CLIENT_SECRET_ROTATION" {
			want = "adobe"
		}
		if got, ok := csEnv[name]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("ClientSecretRotatorFunction %s = %v, want %v", name, got, want)
		}
	}
	wantRot := map[string]any{"Fn::If": []any{clientSecretCondition, "adobe", ""}}
	if got := rotEnv["CLIENT_SECRET_ROTATION"]; !reflect.DeepEqual(got, wantRot) {
		t.Errorf("RotatorFunction CLIENT_SECRET_ROTATION = %v, want !If [%s, adobe, \"\"]", got, clientSecretCondition)
	}
	if r := refs(rotEnv["MANAGEMENT_URL"]); !r["ManagementUrl"] || len(r) != 1 {
		t.Errorf("MANAGEMENT_URL = %v, want !Ref ManagementUrl", rotEnv["MANAGEMENT_URL"])
	}
}

// TestClientSecretInvokePermission: Secrets Manager of this account only.
func TestClientSecretInvokePermission(t *testing.T) {
	p := get(t, load(t), "Resources", "ClientSecretInvokePermission", "Properties").(map[string]any)
	for key, want := range map[string]any{"Principal": "secretsmanager.amazonaws.com", "Action": "lambda:InvokeFunction"} {
		if p[key] != want {
			t.Errorf("ClientSecretInvokePermission.%s = %v, want %v", key, p[key], want)
		}
	}
	if r := refs(p["FunctionName"]); !r["ClientSecretRotatorFunction"] || len(r) != 1 {
		t.Errorf("ClientSecretInvokePermission.FunctionName = %v, want ClientSecretRotatorFunction", p["FunctionName"])
	}
	if m, _ := p["SourceAccount"].(map[string]any); len(m) != 1 || m["Ref"] != "AWS::AccountId" {
		t.Errorf("ClientSecretInvokePermission.SourceAccount = %v, want !Ref AWS::AccountId", p["SourceAccount"])
	}
}

// TestCredentialsRotationSchedule: the stack's own credentials secret,
// rotated by the client-secret function on ClientSecretRotationSchedule,
// after its permission; a deploy does not rotate it.
func TestCredentialsRotationSchedule(t *testing.T) {
	r := get(t, load(t), "Resources", "CredentialsRotationSchedule").(map[string]any)
	if r["Type"] != "AWS::SecretsManager::RotationSchedule" {
		t.Fatalf("CredentialsRotationSchedule.Type = %v", r["Type"])
	}
	p := get(t, r, "Properties").(map[string]any)
	if got := refs(p["SecretId"]); !got["CredentialsSecretArn"] || len(got) != 1 {
		t.Errorf("SecretId = %v, want !Ref CredentialsSecretArn", p["SecretId"])
	}
	if att, _ := p["RotationLambdaARN"].(map[string]any)["Fn::GetAtt"].([]any); len(att) != 2 || att[0] != "ClientSecretRotatorFunction" || att[1] != "Arn" {
		t.Errorf("RotationLambdaARN = %v, want !GetAtt ClientSecretRotatorFunction.Arn", p["RotationLambdaARN"])
	}
	if p["RotateImmediatelyOnUpdate"] != false {
		t.Errorf("RotateImmediatelyOnUpdate = %v, want false: a deploy changes no client secret", p["RotateImmediatelyOnUpdate"])
	}
	rules := get(t, p, "RotationRules").(map[string]any)
	if got := refs(rules["ScheduleExpression"]); !got["ClientSecretRotationSchedule"] || len(rules) != 1 {
		t.Errorf("RotationRules = %v, want only ScheduleExpression !Ref ClientSecretRotationSchedule", rules)
	}
	if deps := list(r["DependsOn"]); !slices.Contains(deps, any("ClientSecretInvokePermission")) {
		t.Errorf("DependsOn = %v, want ClientSecretInvokePermission", deps)
	}
}

// daysRE reads the day count of a rate in days.
var daysRE = regexp.MustCompile(`^rate\((\d+) days?\)$`)

// TestClientSecretScheduleMeets90Days holds ClientSecretRotationSchedule to
// Security Hub's SecretsManager.4 (a rotation within 90 days). Secrets
// Manager rotates N days after the last rotation, at some hour of that UTC
// day: successes are at most N + 1 days apart, and a rotation that fails
// for good waits a whole interval, so k failed rotations in a row make
// (k + 1) N + 1. Every value the pattern lets through meets 90 days with
// one failed rotation, and the default with two.
func TestClientSecretScheduleMeets90Days(t *testing.T) {
	tpl := load(t)
	pattern := parameterPattern(t, "ClientSecretRotationSchedule")
	worst := func(n, failed int) int { return (failed+1)*n + 1 }
	var accepted []int
	for n := 0; n <= 1000; n++ {
		for _, v := range []string{fmt.Sprintf("rate(%d days)", n), fmt.Sprintf("rate(%d day)", n)} {
			if !pattern.MatchString(v) {
				continue
			}
			if n < 1 || (n == 1) != (v == "rate(1 day)") {
				t.Errorf("ClientSecretRotationSchedule takes %q, which Secrets Manager refuses", v)
			}
			if worst(n, 1) > 90 {
				t.Errorf("ClientSecretRotationSchedule takes %q: one failed rotation leaves %d days without one, over 90", v, worst(n, 1))
			}
			accepted = append(accepted, n)
		}
	}
	if !slices.Contains(accepted, 44) || !slices.Contains(accepted, 1) {
		t.Errorf("ClientSecretRotationSchedule takes rate(N days) for N in %v, want 1 to 44: every rate that meets 90 days through a failed rotation", accepted)
	}
	for _, v := range []string{"rate(12 hours)", "cron(0 0 1 * ? *)", "rate(45 days)", "rate(90 days)", "rate(0 days)", " rate(30 days)"} {
		if pattern.MatchString(v) {
			t.Errorf("ClientSecretRotationSchedule takes %q, want it refused", v)
		}
	}
	def, _ := get(t, tpl, "Parameters", "ClientSecretRotationSchedule", "Default").(string)
	m := daysRE.FindStringSubmatch(def)
	if m == nil || !pattern.MatchString(def) {
		t.Fatalf("ClientSecretRotationSchedule.Default = %q, want a rate in days the pattern takes", def)
	}
	if n, _ := strconv.Atoi(m[1]); worst(n, 2) > 90 {
		t.Errorf("ClientSecretRotationSchedule.Default = %q: two failed rotations leave %d days, want at most 90", def, worst(n, 2))
	}
}

// TestClientSecretRetireSchedule: the retire check runs on the token
// schedule's expression, sends {"client_secrets": "retire"}, through a role
// that may invoke that function and no other.
func TestClientSecretRetireSchedule(t *testing.T) {
	tpl := load(t)
	p := get(t, tpl, "Resources", "ClientSecretRetireSchedule", "Properties").(map[string]any)
	if r := refs(p["ScheduleExpression"]); !r["Schedule"] || len(r) != 1 {
		t.Errorf("ScheduleExpression = %v, want !Ref Schedule", p["ScheduleExpression"])
	}
	target := get(t, p, "Target").(map[string]any)
	if r := refs(target["Arn"]); !r["ClientSecretRotatorFunction"] || len(r) != 1 {
		t.Errorf("Target.Arn = %v, want ClientSecretRotatorFunction", target["Arn"])
	}
	if r := refs(target["RoleArn"]); !r["ClientSecretRetireScheduleRole"] || len(r) != 1 {
		t.Errorf("Target.RoleArn = %v, want ClientSecretRetireScheduleRole", target["RoleArn"])
	}
	var input map[string]any
	if s, _ := target["Input"].(string); json.Unmarshal([]byte(s), &input) != nil || !reflect.DeepEqual(input, map[string]any{"client_secrets": "retire"}) {
		t.Errorf("Target.Input = %v, want {\"client_secrets\": \"retire\"}", target["Input"])
	}
	invokes := 0
	for _, s := range statements(t, tpl) {
		if !strings.HasPrefix(s.where, "ClientSecretRetireScheduleRole/") || !slices.Contains(s.actions(), "lambda:InvokeFunction") {
			continue
		}
		invokes++
		if r := refs(s.m["Resource"]); !r["ClientSecretRotatorFunction"] || len(r) != 1 {
			t.Errorf("%s: lambda:InvokeFunction on %v, want ClientSecretRotatorFunction only", s.where, s.m["Resource"])
		}
	}
	if invokes != 1 {
		t.Errorf("ClientSecretRetireScheduleRole has %d statements that invoke, want 1", invokes)
	}
}

// TestClientSecretErrorsAlarm: the client-secret rotator's failures reach
// the alarm topic, and the dashboard lists and graphs that alarm.
func TestClientSecretErrorsAlarm(t *testing.T) {
	p := get(t, load(t), "Resources", "ClientSecretErrorsAlarm", "Properties").(map[string]any)
	if p["Namespace"] != "AWS/Lambda" || p["MetricName"] != "Errors" {
		t.Errorf("ClientSecretErrorsAlarm watches %v/%v, want AWS/Lambda/Errors", p["Namespace"], p["MetricName"])
	}
	dims := list(p["Dimensions"])
	if len(dims) != 1 || get(t, dims[0], "Name") != "FunctionName" || !refs(get(t, dims[0], "Value"))["ClientSecretRotatorFunction"] {
		t.Errorf("ClientSecretErrorsAlarm.Dimensions = %v, want FunctionName ClientSecretRotatorFunction", dims)
	}
	if r := refs(p["AlarmActions"]); !r["AlarmTopic"] {
		t.Errorf("ClientSecretErrorsAlarm.AlarmActions = %v, want the AlarmTopic", p["AlarmActions"])
	}
	for engine, view := range clientSecretViews(t) {
		checkDashboardAlarms(t, engine+" with the client-secret rotation", view)
	}
}

// TestClientSecretOutputs: what make integration-add reads, under the
// names package ops reads.
func TestClientSecretOutputs(t *testing.T) {
	outputs := get(t, load(t), "Outputs").(map[string]any)
	for name, want := range map[string]string{
		ops.OutputClientSecretRotation: "ClientSecretRotation", ops.OutputClientSecretFunctionARN: "ClientSecretRotatorFunction",
		ops.OutputClientSecretRules: "ClientSecretRotationSchedule",
	} {
		if r := refs(get(t, outputs, name, "Value")); !r[want] || len(r) != 1 {
			t.Errorf("Outputs.%s = %v, want %s", name, get(t, outputs, name, "Value"), want)
		}
	}
}

// roleStatements returns the statements of the inline policies of role,
// made concrete for the evaluator.
func roleStatements(t *testing.T, tpl map[string]any, role string) []evalStatement {
	t.Helper()
	var out []evalStatement
	for i, p := range list(get(t, tpl, "Resources", role, "Properties", "Policies")) {
		out = append(out, policyStatements(t, fmt.Sprintf("%s#%d", role, i), get(t, p, "PolicyDocument"))...)
	}
	return out
}

// writeActions change a secret's value, stages or tags.
var writeActions = []string{"PutSecretValue", "UpdateSecretVersionStage", "TagResource", "UntagResource"}

// TestOnlyTheClientSecretRoleWritesCredentials asks the IAM evaluator who
// may write which secret: the client-secret rotator writes the stack's own
// credentials secret and the added ones tagged with this stack, and no
// other stack's, no untagged one and no token secret (its own or an added
// one, though they carry the stack's tag); it tags only with the switch
// tag; the token rotator writes no credentials secret at all.
func TestOnlyTheClientSecretRoleWritesCredentials(t *testing.T) {
	tpl := load(t)
	secret := func(name string, tags map[string]string) secretResource {
		return secretResource{arn: "arn:aws:secretsmanager:" + evalRegion + ":" + evalAccount + ":secret:" + name, account: evalAccount, tags: tags}
	}
	stackTag := map[string]string{integration.TagStack: evalStack}
	own := secretResource{arn: evalCredentialsARN, account: evalAccount}
	added := secret("acme/credentials-AbCdEf", stackTag)
	otherStack := secret("globex/credentials-AbCdEf", map[string]string{integration.TagStack: "other"})
	untagged := secret("initech/credentials-AbCdEf", nil)
	ownToken := secretResource{arn: evalTokenARN, account: evalAccount, tags: stackTag}
	addedToken := secret(integration.SecretPrefix(evalStack)+"acme-QwErTy", map[string]string{
		integration.TagStack: evalStack, integration.TagIntegration: "acme", integration.TagCredentials: added.arn})

	cs := caller{name: "client-secret rotator", arn: "arn:aws:iam::" + evalAccount + ":role/cs", account: evalAccount, identity: roleStatements(t, tpl, "ClientSecretRotatorRole")}
	tr := caller{name: "token rotator", arn: "arn:aws:iam::" + evalAccount + ":role/tr", account: evalAccount, identity: roleStatements(t, tpl, "RotatorFunctionRole")}
	for _, tt := range []struct {
		name     string
		r        secretResource
		csWrites bool
	}{
		{"own credentials", own, true},
		{"added credentials", added, true},
		{"another stack's credentials", otherStack, false},
		{"untagged secret", untagged, false},
		{"own token", ownToken, false},
		{"added token", addedToken, false},
	} {
		for _, a := range writeActions {
			action := "secretsmanager:" + a
			keys := []string{switchTag}
			if got := evaluateTagging(t, cs, action, keys, tt.r); (got == allowed) != tt.csWrites {
				t.Errorf("%s: %s on %s = %v, want allowed %v", cs.name, action, tt.name, got, tt.csWrites)
			}
			if a == "TagResource" || a == "UntagResource" {
				for _, other := range [][]string{{integration.TagStack}, {switchTag, integration.TagStack}, {integration.TagIntegration}} {
					if got := evaluateTagging(t, cs, action, other, tt.r); got == allowed {
						t.Errorf("%s: %s of %v on %s = %v, want denied: only the switch tag", cs.name, action, other, tt.name, got)
					}
				}
			}
			isCredentials := tt.csWrites || tt.r.arn == otherStack.arn || tt.r.arn == untagged.arn
			if got := evaluateTagging(t, tr, action, keys, tt.r); isCredentials && got == allowed {
				t.Errorf("%s: %s on %s = %v, want denied: the token rotator writes no credentials secret", tr.name, action, tt.name, got)
			}
		}
		// The client-secret rotator reads no token either; it may describe an
		// added one, whose tags name its credentials secret.
		if tt.r.arn == ownToken.arn || tt.r.arn == addedToken.arn {
			if got := evaluate(t, cs, "secretsmanager:GetSecretValue", tt.r); got == allowed {
				t.Errorf("%s: GetSecretValue on %s = %v, want denied", cs.name, tt.name, got)
			}
		}
	}
	if got := evaluate(t, cs, "secretsmanager:DescribeSecret", addedToken); got != allowed {
		t.Errorf("%s: DescribeSecret on the added token = %v, want allowed: its tags name the integration's credentials secret", cs.name, got)
	}
}
