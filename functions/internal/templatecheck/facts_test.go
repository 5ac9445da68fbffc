package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
)

func TestEnvironmentIsConfigNames(t *testing.T) {
	tpl := load(t)
	vars := environment(t, tpl, "RotatorFunction")
	got := slices.Sorted(maps.Keys(vars))
	want := slices.Sorted(slices.Values(settingNames()))
	if !slices.Equal(got, want) {
		t.Errorf("RotatorFunction environment = %v, want config.Names() = %v", got, want)
	}
}

func TestFunctionShape(t *testing.T) {
	tpl := load(t)
	fn := get(t, tpl, "Resources", "RotatorFunction").(map[string]any)
	if got := fn["Type"]; got != "AWS::Serverless::Function" {
		t.Fatalf("RotatorFunction.Type = %v, want AWS::Serverless::Function", got)
	}
	if got := get(t, fn, "Metadata", "BuildMethod"); got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
	}
	props := get(t, fn, "Properties").(map[string]any)
	// ReservedConcurrentExecutions depends on the engine: TestReservedConcurrencyPerEngine.
	for key, want := range map[string]any{
		"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": ".",
		"MemorySize": 128, "Timeout": 120,
	} {
		if got := props[key]; got != want {
			t.Errorf("RotatorFunction.%s = %v, want %v", key, got, want)
		}
	}
	if got := props["Architectures"]; !slices.Equal(list(got), []any{"arm64"}) {
		t.Errorf("RotatorFunction.Architectures = %v, want [arm64]", got)
	}
	if got := get(t, props, "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("LoggingConfig.LogFormat = %v, want JSON", got)
	}
	// The metric lines carry no level and count as INFO: a stricter level drops them.
	if lvl, ok := get(t, props, "LoggingConfig").(map[string]any)["ApplicationLogLevel"]; ok && lvl != "INFO" && lvl != "DEBUG" && lvl != "TRACE" {
		t.Errorf("LoggingConfig.ApplicationLogLevel = %v, want INFO or lower, or the metric lines are dropped", lvl)
	}
	logGroup := get(t, props, "LoggingConfig", "LogGroup")
	if r := refs(logGroup); !r["RotatorLogGroup"] {
		t.Errorf("LoggingConfig.LogGroup = %v, want the stack's RotatorLogGroup", logGroup)
	}
	if get(t, tpl, "Resources", "RotatorLogGroup", "Properties", "RetentionInDays") == nil {
		t.Errorf("RotatorLogGroup has no retention")
	}
	// A SAM-generated role would attach AWSLambdaBasicExecutionRole, whose statement names "*".
	if _, ok := props["Policies"]; ok {
		t.Errorf("RotatorFunction has Policies, want an explicit Role only")
	}
	if r := refs(props["Role"]); !r["RotatorFunctionRole"] || len(r) != 1 {
		t.Errorf("RotatorFunction.Role = %v, want !GetAtt RotatorFunctionRole.Arn", props["Role"])
	}
	onFailure := get(t, props, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination")
	if r := refs(onFailure); !r["DeadLetterQueue"] {
		t.Errorf("EventInvokeConfig OnFailure = %v, want the DeadLetterQueue", onFailure)
	}
}

// scheduleID is the logical id SAM gave the schedule when it was the
// function's ScheduleV2 event RotationSchedule (<function><event>): the
// written-out resource keeps it, so that a deployed stack updates it in place.
const scheduleID = "RotatorFunctionRotationSchedule"

func TestScheduleDefault(t *testing.T) {
	tpl := load(t)
	if got := get(t, tpl, "Parameters", "Schedule", "Default"); got != "rate(23 hours)" {
		t.Errorf("Parameters.Schedule.Default = %q, want rate(23 hours)", got)
	}
	// SAM event sources cannot carry a Condition: the schedule is a resource.
	events, _ := get(t, tpl, "Resources", "RotatorFunction", "Properties").(map[string]any)["Events"].(map[string]any)
	for id, e := range events {
		if ty := get(t, e, "Type"); ty == "ScheduleV2" || ty == "Schedule" {
			t.Errorf("RotatorFunction.Events.%s is a %v event, want the schedule written out as %s", id, ty, scheduleID)
		}
	}
	// The client-secret retire check's schedule is clientsecret_test.go's.
	schedules := resources(t, decided(tpl, map[string]bool{clientSecretCondition: false}), "AWS::Scheduler::Schedule")
	if len(schedules) != 1 || schedules[scheduleID] == nil {
		t.Fatalf("AWS::Scheduler::Schedule resources = %v, want exactly %s", keys(boolSet(schedules)), scheduleID)
	}
	p := get(t, schedules[scheduleID], "Properties").(map[string]any)
	if expr := get(t, p, "ScheduleExpression"); !refs(expr)["Schedule"] {
		t.Errorf("%s.ScheduleExpression = %v, want !Ref Schedule", scheduleID, expr)
	}
	// What SAM generated, so that the update changes nothing: no Name (OmitName),
	// no flexible window, no Input (the function gets Scheduler's own event).
	if name, ok := p["Name"]; ok {
		t.Errorf("%s.Name = %v, want none: a generated name, so two stacks in one account do not collide", scheduleID, name)
	}
	if mode := get(t, p, "FlexibleTimeWindow", "Mode"); mode != "OFF" {
		t.Errorf("%s.FlexibleTimeWindow.Mode = %v, want OFF", scheduleID, mode)
	}
	target := get(t, p, "Target").(map[string]any)
	if input, ok := target["Input"]; ok {
		t.Errorf("%s.Target.Input = %v, want none, as the ScheduleV2 event had none", scheduleID, input)
	}
	if arn := get(t, target, "Arn"); !refs(arn)["RotatorFunction"] || len(refs(arn)) != 1 {
		t.Errorf("%s.Target.Arn = %v, want !GetAtt RotatorFunction.Arn", scheduleID, arn)
	}
	if role := get(t, target, "RoleArn"); !refs(role)["RotationScheduleRole"] || len(refs(role)) != 1 {
		t.Errorf("%s.Target.RoleArn = %v, want !GetAtt RotationScheduleRole.Arn", scheduleID, role)
	}
	if age, _ := get(t, target, "RetryPolicy", "MaximumEventAgeInSeconds").(int); age <= 0 || age > 3600 {
		t.Errorf("%s RetryPolicy.MaximumEventAgeInSeconds = %d, want at most the hour a token has left", scheduleID, age)
	}
	if dlq := get(t, target, "DeadLetterConfig", "Arn"); !refs(dlq)["DeadLetterQueue"] {
		t.Errorf("%s DeadLetterConfig.Arn = %v, want the DeadLetterQueue", scheduleID, dlq)
	}
}

// boolSet returns the keys of m as a set, for keys.
func boolSet[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// allowedRefs says, per service, what an IAM statement's resources may refer to.
var allowedRefs = map[string][]string{
	// ReplicaRegions only picks the Region of a replica of the token secret.
	"secretsmanager": {"CredentialsSecretArn", "TokenSecret", "ReplicaRegions"},
	// TokenKey is the key the stack creates for readers in other accounts (crossaccount_test.go).
	"kms":    {"CredentialsKmsKeyArn", "TokenKmsKeyArn", "TokenKey"},
	"logs":   {"RotatorLogGroup", "ClientSecretRotatorLogGroup", "ConsumerExampleLogGroup"},
	"sqs":    {"DeadLetterQueue"},
	"lambda": {"RotatorFunction", "ClientSecretRotatorFunction"},
}

// statement is one IAM statement and where it was found.
type statement struct {
	where string
	m     map[string]any
}

func (s statement) actions() []string {
	var out []string
	for _, a := range list(s.m["Action"]) {
		str, _ := a.(string)
		out = append(out, str)
	}
	return out
}

// statements returns every permission statement in the template: the
// policies of roles, managed and inline policies, and queue policies. Trust
// policies are not permissions and are left out.
func statements(t *testing.T, tpl map[string]any) []statement {
	t.Helper()
	var out []statement
	add := func(where string, doc any) {
		for _, s := range list(get(t, doc, "Statement")) {
			m, ok := s.(map[string]any)
			if !ok {
				t.Fatalf("%s: a statement is a %T, want a mapping", where, s)
			}
			out = append(out, statement{where: where + "/" + fmtSid(m), m: m})
		}
	}
	for id, r := range resources(t, tpl, "AWS::IAM::Role") {
		props, _ := r["Properties"].(map[string]any)
		for i, p := range list(props["Policies"]) {
			add(fmt.Sprintf("%s/%v#%d", id, get(t, p, "PolicyName"), i), get(t, p, "PolicyDocument"))
		}
		// A role may attach only the stack's own managed policies, whose
		// statements are checked below; never an AWS-managed one.
		if mp, ok := props["ManagedPolicyArns"]; ok {
			for _, arn := range mp.([]any) {
				r := refs(arn)
				if len(r) != 1 || get(t, tpl, "Resources", keys(r)[0], "Type") != "AWS::IAM::ManagedPolicy" {
					t.Errorf("%s attaches %v: only the stack's own managed policies may be attached", id, arn)
				}
			}
		}
	}
	for id, r := range resources(t, tpl, "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::SQS::QueuePolicy") {
		add(id, get(t, r, "Properties", "PolicyDocument"))
	}
	for id, r := range resources(t, tpl, "AWS::Serverless::Function") {
		if _, ok := get(t, r, "Properties").(map[string]any)["Policies"]; ok {
			t.Errorf("%s has SAM Policies: write its role out instead", id)
		}
	}
	return out
}

func fmtSid(m map[string]any) string {
	if s, ok := m["Sid"].(string); ok {
		return s
	}
	return "(no Sid)"
}

func TestPoliciesLeastPrivilege(t *testing.T) {
	tpl := load(t)
	stmts := statements(t, tpl)
	if len(stmts) < 8 {
		t.Fatalf("found %d IAM statements, want the function's, the schedule's, the queue's and the reader's", len(stmts))
	}
	for _, s := range stmts {
		if s.m["Effect"] != "Allow" {
			continue // a Deny only takes away
		}
		for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
			if _, ok := s.m[k]; ok {
				t.Errorf("%s: %s grants everything but a list", s.where, k)
			}
		}
		if p, ok := s.m["Principal"]; ok && strings.Contains(strings.Join(flatStrings(p), " "), "*") {
			t.Errorf("%s: Principal %v names \"*\"", s.where, p)
		}
		actions := s.actions()
		if len(actions) == 0 {
			t.Errorf("%s: no Action", s.where)
		}
		res := s.m["Resource"]
		if res == nil {
			t.Errorf("%s: no Resource", s.where)
		}
		// A wildcard only where the fleet design needs one; the tests in
		// integrations_test.go hold each to its statement.
		ownSecrets := true
		for _, r := range resourceTexts(t, s) {
			if strings.ContainsAny(r, "*?") && !allowedWildcard(s, r) {
				t.Errorf("%s: Resource %q is a wildcard", s.where, r)
			}
			ownSecrets = ownSecrets && (r == "*" || strings.HasPrefix(r, ownSecretARN) || signsAssertions(s))
		}
		named := refs(res)
		if len(named) == 0 && !ownSecrets {
			t.Errorf("%s: Resource %v names no secret, key or stack resource", s.where, res)
		}
		for _, a := range actions {
			service, _, ok := strings.Cut(a, ":")
			if !ok || strings.ContainsAny(a, "*?") {
				t.Errorf("%s: Action %q is a wildcard or malformed", s.where, a)
				continue
			}
			for r := range named {
				if !slices.Contains(allowedRefs[service], r) {
					t.Errorf("%s: %s on %s, want only %v", s.where, a, r, allowedRefs[service])
				}
			}
			// Signing is a call of the function's own, not one Secrets
			// Manager makes for it: SignAssertions is pinned to the stack's
			// tag instead (signing_test.go).
			if service == "kms" && !hasViaService(s.m) && !signsAssertions(s) {
				t.Errorf("%s: %s without a kms:ViaService condition", s.where, a)
			}
		}
	}
}

// TestSecretAccess checks who may do what to which secrets: the function
// reads the credentials and reads and writes the token, its own and the
// added integrations' (and, with RotationEngine secretsmanager, describes
// them and moves their stages: TestNativeRoleGrantsLeastPrivilege); only
// the client-secret rotator writes the credentials, the stack's own and
// those tagged with the stack, and it writes no token secret (its Deny:
// clientsecret_test.go); only the function writes a token; consumers read
// a token. Readers of an added integration's token get it from the token
// secret's resource policy, not from the template (readers_test.go).
func TestSecretAccess(t *testing.T) {
	tpl := load(t)
	got := map[string][]string{} // action on ref or pattern -> where
	for _, s := range statements(t, tpl) {
		if s.m["Effect"] != "Allow" {
			continue // a Deny only takes away: TestIntegrationTokenReaderPolicy holds the one there is
		}
		for _, a := range s.actions() {
			if !strings.HasPrefix(a, "secretsmanager:") {
				continue
			}
			for _, item := range list(s.m["Resource"]) {
				targets := keys(refs(item))
				if len(targets) == 0 {
					text, _ := resourceText(item)
					targets = []string{text}
				}
				for _, r := range targets {
					if r == "ReplicaRegions" {
						continue
					}
					owner, _, _ := strings.Cut(s.where, "/")
					key := a + " on " + r
					if !slices.Contains(got[key], owner) {
						got[key] = append(got[key], owner)
					}
				}
			}
		}
	}
	addedTokens := ownSecretARN + stackPrefix + "*"
	const cs = "ClientSecretRotatorRole"
	want := map[string][]string{
		"secretsmanager:GetSecretValue on CredentialsSecretArn":     {cs, "RotatorFunctionRole"},
		"secretsmanager:GetSecretValue on TokenSecret":              {"RotatorFunctionRole", "TokenReaderPolicy"},
		"secretsmanager:PutSecretValue on TokenSecret":              {"RotatorFunctionRole"},
		"secretsmanager:GetSecretValue on " + ownSecretARN + "*":    {cs, "RotatorFunctionRole"},
		"secretsmanager:GetSecretValue on " + addedTokens:           {"RotatorFunctionRole"},
		"secretsmanager:PutSecretValue on " + addedTokens:           {"RotatorFunctionRole"},
		"secretsmanager:DescribeSecret on " + addedTokens:           {cs, "RotatorFunctionRole"},
		"secretsmanager:DescribeSecret on TokenSecret":              {"RotatorFunctionRole"},
		"secretsmanager:UpdateSecretVersionStage on TokenSecret":    {"RotatorFunctionRole"},
		"secretsmanager:UpdateSecretVersionStage on " + addedTokens: {"RotatorFunctionRole"},
		"secretsmanager:ListSecrets on *":                           {cs, "RotatorFunctionRole"},
	}
	for _, a := range []string{"PutSecretValue", "DescribeSecret", "ListSecretVersionIds", "UpdateSecretVersionStage", "TagResource", "UntagResource"} {
		for _, r := range []string{"CredentialsSecretArn", ownSecretARN + "*"} {
			want["secretsmanager:"+a+" on "+r] = []string{cs}
		}
	}
	for k := range got {
		slices.Sort(got[k])
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("secret permissions = %v, want %v", got, want)
	}
}

func TestReaderPolicyIsReadOnly(t *testing.T) {
	tpl := load(t)
	doc := get(t, tpl, "Resources", "TokenReaderPolicy", "Properties", "PolicyDocument")
	if ty := get(t, tpl, "Resources", "TokenReaderPolicy", "Type"); ty != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("TokenReaderPolicy.Type = %v, want AWS::IAM::ManagedPolicy", ty)
	}
	var actions []string
	for _, s := range list(get(t, doc, "Statement")) {
		st := statement{where: "TokenReaderPolicy", m: s.(map[string]any)}
		for _, a := range st.actions() {
			actions = append(actions, a)
			switch a {
			case "secretsmanager:GetSecretValue":
				if !refs(st.m["Resource"])["TokenSecret"] {
					t.Errorf("TokenReaderPolicy: %s on %v, want on TokenSecret", a, st.m["Resource"])
				}
			case "kms:Decrypt":
				if !isTokenKey(st.m["Resource"]) {
					t.Errorf("TokenReaderPolicy: %s on %v, want on the token key, %v", a, st.m["Resource"], tokenKeyExpr)
				}
			default:
				t.Errorf("TokenReaderPolicy grants %s, want only reads", a)
			}
		}
	}
	slices.Sort(actions)
	if want := []string{"kms:Decrypt", "secretsmanager:GetSecretValue"}; !slices.Equal(actions, want) {
		t.Errorf("TokenReaderPolicy actions = %v, want %v", actions, want)
	}
	if out := get(t, tpl, "Outputs", "TokenReaderPolicyArn", "Value"); !refs(out)["TokenReaderPolicy"] {
		t.Errorf("Outputs.TokenReaderPolicyArn = %v, want !Ref TokenReaderPolicy", out)
	}
}

func TestAlarmsMatchMetrics(t *testing.T) {
	tpl := load(t)
	known := []string{metrics.RotationSucceeded, metrics.RotationFailed, metrics.TokenSecondsToExpiry, metrics.TokenRequestLatency, metrics.ClientSecretDaysLeft}
	for id, a := range resources(t, tpl, "AWS::CloudWatch::Alarm") {
		p := get(t, a, "Properties").(map[string]any)
		if p["Namespace"] != metrics.Namespace {
			continue
		}
		if !slices.Contains(known, p["MetricName"].(string)) {
			t.Errorf("%s.MetricName = %v, want one of %v", id, p["MetricName"], known)
		}
		dims := list(p["Dimensions"])
		if len(dims) != 1 || get(t, dims[0], "Name") != metrics.DimensionFunctionName || !refs(get(t, dims[0], "Value"))["RotatorFunction"] {
			t.Errorf("%s.Dimensions = %v, want %s = !Ref RotatorFunction", id, dims, metrics.DimensionFunctionName)
		}
	}
	stale := get(t, tpl, "Resources", "StaleTokenAlarm", "Properties").(map[string]any)
	for key, want := range map[string]any{
		"Namespace": metrics.Namespace, "MetricName": metrics.RotationSucceeded, "Statistic": "Sum",
		"TreatMissingData": "breaching", "ComparisonOperator": "LessThanThreshold", "Threshold": 1,
	} {
		if got := stale[key]; got != want {
			t.Errorf("StaleTokenAlarm.%s = %v, want %v", key, got, want)
		}
	}
	period, _ := stale["Period"].(int)
	n, _ := stale["EvaluationPeriods"].(int)
	if m, ok := stale["DatapointsToAlarm"].(int); ok && m != n {
		t.Errorf("StaleTokenAlarm.DatapointsToAlarm = %d, want all %d periods", m, n)
	}
	if period*n != 24*3600 {
		t.Errorf("StaleTokenAlarm looks at %d s, want 24 h", period*n)
	}
	// 30 days ahead, on the least of the function's integrations, and
	// silent when none says when its secret expires.
	expiry := get(t, tpl, "Resources", "ClientSecretExpiryAlarm", "Properties").(map[string]any)
	for key, want := range map[string]any{
		"Namespace": metrics.Namespace, "MetricName": metrics.ClientSecretDaysLeft, "Statistic": "Minimum",
		"TreatMissingData": "notBreaching", "ComparisonOperator": "LessThanThreshold", "Threshold": 30,
	} {
		if got := expiry[key]; got != want {
			t.Errorf("ClientSecretExpiryAlarm.%s = %v, want %v", key, got, want)
		}
	}
	if p, _ := expiry["Period"].(int); p < 24*3600 {
		t.Errorf("ClientSecretExpiryAlarm.Period = %d s, want at least a day: a run of the default schedule reports it once in 23 hours", p)
	}
}

func TestOutputs(t *testing.T) {
	tpl := load(t)
	outputs := get(t, tpl, "Outputs").(map[string]any)
	for name, target := range map[string]string{
		"TokenSecretArn": "TokenSecret", "TokenReaderPolicyArn": "TokenReaderPolicy",
		"RotatorFunctionName": "RotatorFunction", "DeadLetterQueueUrl": "DeadLetterQueue", "AlarmTopicArn": "AlarmTopic",
		"IntegrationTokenReaderPolicyArn": "IntegrationTokenReaderPolicy",
	} {
		v := get(t, outputs, name, "Value")
		if r := refs(v); !r[target] || len(r) != 1 {
			t.Errorf("Outputs.%s = %v, want !Ref %s", name, v, target)
		}
	}
	// The operator command reads these two to create an added integration's
	// token secret: where, and with which key.
	if v := get(t, outputs, "IntegrationSecretPrefix", "Value"); subText(v) != envPrefix(t, tpl) {
		t.Errorf("Outputs.IntegrationSecretPrefix = %v, want !Sub %q, the function's %s", v, stackPrefix, config.EnvIntegrationSecretPrefix)
	}
	if v := get(t, outputs, "TokenKmsKeyArn", "Value"); !isTokenKey(v) {
		t.Errorf("Outputs.TokenKmsKeyArn = %v, want the token key, %v", v, tokenKeyExpr)
	}
	if c := get(t, outputs, "TokenKmsKeyArn").(map[string]any)["Condition"]; c != "UseTokenKey" {
		t.Errorf("Outputs.TokenKmsKeyArn.Condition = %v, want UseTokenKey", c)
	}
}

func TestFirstTokenAtDeploy(t *testing.T) {
	tpl := load(t)
	r := get(t, tpl, "Resources", "FirstToken").(map[string]any)
	if ty, _ := r["Type"].(string); !strings.HasPrefix(ty, "Custom::") && ty != "AWS::CloudFormation::CustomResource" {
		t.Errorf("FirstToken.Type = %v, want a custom resource", r["Type"])
	}
	if st := get(t, r, "Properties", "ServiceToken"); !refs(st)["RotatorFunction"] {
		t.Errorf("FirstToken.ServiceToken = %v, want !GetAtt RotatorFunction.Arn", st)
	}
}

func hasViaService(m map[string]any) bool {
	cond, _ := m["Condition"].(map[string]any)
	for _, op := range cond {
		if keys, ok := op.(map[string]any); ok {
			if _, ok := keys["kms:ViaService"]; ok {
				return true
			}
		}
	}
	return false
}

// flatStrings returns every string literal inside v (through lists, maps and
// intrinsic functions).
func flatStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, flatStrings(x)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, x := range v {
			out = append(out, flatStrings(x)...)
		}
		return out
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
