package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// The two rotation engines: each value of the parameter RotationEngine and
// the condition that holds when it is chosen.
const (
	engineScheduler      = "scheduler"
	engineSecretsManager = "secretsmanager"
)

var engineConditions = map[string]string{
	engineScheduler:      "UseScheduler",
	engineSecretsManager: "UseSecretsManagerRotation",
}

// engineView returns the template as CloudFormation sees it with
// RotationEngine set to engine: the engine conditions are decided (after
// checking that each is Fn::Equals on RotationEngine and its value), their
// Fn::If pick one branch, AWS::NoValue drops what it stands for, and
// resources and outputs whose condition is false are gone. Other conditions
// stay as they are, for branches and list to see both ways.
func engineView(t *testing.T, tpl map[string]any, engine string) map[string]any {
	t.Helper()
	truth := map[string]bool{}
	for value, cond := range engineConditions {
		want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "RotationEngine"}, value}}
		if got := get(t, tpl, "Conditions", cond); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Conditions.%s = %v, want !Equals [!Ref RotationEngine, %s]", cond, got, value)
		}
		truth[cond] = value == engine
	}
	// The client-secret rotation is off: clientsecret_test.go looks at
	// each engine with it on.
	truth[clientSecretCondition] = false
	return decided(tpl, truth)
}

// decided returns the template with the conditions truth decides applied:
// their Fn::If pick one branch, AWS::NoValue drops what it stands for, and
// resources and outputs whose condition is false are gone.
func decided(tpl map[string]any, truth map[string]bool) map[string]any {
	view, _ := resolve(tpl, truth)
	m := view.(map[string]any)
	for _, section := range []string{"Resources", "Outputs"} {
		entries, _ := m[section].(map[string]any)
		for id, e := range entries {
			c, _ := e.(map[string]any)["Condition"].(string)
			if held, decided := truth[c]; decided && !held {
				delete(entries, id)
			}
		}
	}
	return m
}

// resolve decides the Fn::If whose condition truth names and drops
// AWS::NoValue; ok is false when v itself is dropped.
func resolve(v any, truth map[string]bool) (out any, ok bool) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if v["Ref"] == "AWS::NoValue" {
				return nil, false
			}
			if args, isIf := v["Fn::If"].([]any); isIf && len(args) == 3 {
				if c, _ := args[0].(string); c != "" {
					if held, decided := truth[c]; decided {
						if held {
							return resolve(args[1], truth)
						}
						return resolve(args[2], truth)
					}
				}
			}
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			if r, keep := resolve(x, truth); keep {
				m[k] = r
			}
		}
		return m, true
	case []any:
		s := make([]any, 0, len(v))
		for _, x := range v {
			if r, keep := resolve(x, truth); keep {
				s = append(s, r)
			}
		}
		return s, true
	}
	return v, true
}

// views returns the template under each engine, by engine.
func views(t *testing.T) map[string]map[string]any {
	t.Helper()
	tpl := load(t)
	return map[string]map[string]any{
		engineScheduler:      engineView(t, tpl, engineScheduler),
		engineSecretsManager: engineView(t, tpl, engineSecretsManager),
	}
}

func TestRotationEngineParameter(t *testing.T) {
	tpl := load(t)
	p := get(t, tpl, "Parameters", "RotationEngine").(map[string]any)
	if p["Type"] != "String" || p["Default"] != engineScheduler {
		t.Errorf("Parameters.RotationEngine = %v, want a String defaulting to %s, today's engine", p, engineScheduler)
	}
	got := fmt.Sprint(list(p["AllowedValues"]))
	if want := fmt.Sprint([]any{engineScheduler, engineSecretsManager}); got != want {
		t.Errorf("Parameters.RotationEngine.AllowedValues = %v, want %v", got, want)
	}
	// Each engine has its condition, and exactly one holds (engineView checks
	// their definitions).
	for engine, cond := range engineConditions {
		engineView(t, tpl, engine)
		if _, ok := get(t, tpl, "Conditions").(map[string]any)[cond]; !ok {
			t.Errorf("Conditions.%s is missing", cond)
		}
	}
	// Ops tooling learns the engine from the stack's outputs.
	out := get(t, tpl, "Outputs", "RotationEngine").(map[string]any)
	if r := refs(out["Value"]); !r["RotationEngine"] || len(r) != 1 {
		t.Errorf("Outputs.RotationEngine.Value = %v, want !Ref RotationEngine", out["Value"])
	}
	if _, ok := out["Condition"]; ok {
		t.Errorf("Outputs.RotationEngine has a Condition, want it in both engines")
	}
}

// TestEngineResources holds which resources each engine has: the Scheduler
// schedule and its role, or Secrets Manager's rotation schedule, its
// permission and its alarm; and the ones both keep.
func TestEngineResources(t *testing.T) {
	only := map[string][]string{
		engineScheduler:      {scheduleID, "RotationScheduleRole"},
		engineSecretsManager: {"TokenSecretRotationSchedule", "SecretsManagerInvokePermission", "RotationFailedAlarm"},
	}
	// The dead-letter queue stays: FirstToken's asynchronous invocations land
	// there in both engines.
	both := []string{"RotatorFunction", "RotatorFunctionRole", "TokenSecret", "FirstToken", "DeadLetterQueue",
		"DeadLetterQueuePolicy", "DeadLetterQueueAlarm", "FunctionErrorsAlarm", "StaleTokenAlarm", "ClientSecretExpiryAlarm", "AlarmTopic"}
	for engine, view := range views(t) {
		res := get(t, view, "Resources").(map[string]any)
		for other, ids := range only {
			for _, id := range ids {
				if _, ok := res[id]; ok != (other == engine) {
					t.Errorf("RotationEngine %s: has %s = %v, want %v", engine, id, ok, other == engine)
				}
			}
		}
		for _, id := range both {
			if _, ok := res[id]; !ok {
				t.Errorf("RotationEngine %s: %s is missing, want it in both engines", engine, id)
			}
		}
		// Exactly one engine starts rotations.
		starters := slices.Sorted(maps.Keys(boolSet(resources(t, view, "AWS::Scheduler::Schedule", "AWS::SecretsManager::RotationSchedule"))))
		if want := only[engine][:1]; !slices.Equal(starters, want) {
			t.Errorf("RotationEngine %s: schedules %v, want %v", engine, starters, want)
		}
	}
}

// TestEngineViewsReferToWhatExists holds that under either engine nothing
// refers to a resource the engine leaves out (such as RotationScheduleRole
// in a queue policy), through Ref, Fn::GetAtt, Fn::Sub or DependsOn.
func TestEngineViewsReferToWhatExists(t *testing.T) {
	for engine, view := range views(t) {
		checkRefsExist(t, engine, view)
	}
}

// checkRefsExist holds that nothing in view, the template under one choice
// of the parameters named by name, refers to a resource it leaves out.
func checkRefsExist(t *testing.T, name string, view map[string]any) {
	t.Helper()
	params := get(t, view, "Parameters").(map[string]any)
	res := get(t, view, "Resources").(map[string]any)
	check := func(where string, v any) {
		for r := range refs(v) {
			_, isParam := params[r]
			_, isRes := res[r]
			if !isParam && !isRes {
				t.Errorf("RotationEngine %s: %s refers to %s, which this engine does not create", name, where, r)
			}
		}
	}
	for id, r := range res {
		check(id, r)
		deps, ok := r.(map[string]any)["DependsOn"]
		if !ok {
			continue
		}
		for _, dep := range list(deps) {
			if d, _ := dep.(string); res[d] == nil {
				t.Errorf("RotationEngine %s: %s DependsOn %s, which this engine does not create", name, id, dep)
			}
		}
	}
	for id, o := range get(t, view, "Outputs").(map[string]any) {
		check("Outputs."+id, o)
	}
}

// TestNativeRotationSchedule holds the token secret's rotation schedule: on
// the function, with the parameters' rules, rotating when created, and
// after the permission it needs and the first token.
func TestNativeRotationSchedule(t *testing.T) {
	view := views(t)[engineSecretsManager]
	schedules := resources(t, view, "AWS::SecretsManager::RotationSchedule")
	r, ok := schedules["TokenSecretRotationSchedule"]
	if !ok || len(schedules) != 1 {
		t.Fatalf("AWS::SecretsManager::RotationSchedule resources = %v, want TokenSecretRotationSchedule only", keys(boolSet(schedules)))
	}
	p := get(t, r, "Properties").(map[string]any)
	for key, want := range map[string]string{"SecretId": "TokenSecret", "RotationLambdaARN": "RotatorFunction"} {
		if got := refs(p[key]); !got[want] || len(got) != 1 {
			t.Errorf("TokenSecretRotationSchedule.%s = %v, want %s", key, p[key], want)
		}
	}
	if att, _ := p["RotationLambdaARN"].(map[string]any)["Fn::GetAtt"].([]any); len(att) != 2 || att[1] != "Arn" {
		t.Errorf("TokenSecretRotationSchedule.RotationLambdaARN = %v, want !GetAtt RotatorFunction.Arn", p["RotationLambdaARN"])
	}
	if _, ok := p["HostedRotationLambda"]; ok {
		t.Errorf("TokenSecretRotationSchedule has a HostedRotationLambda, want this stack's function")
	}
	// A deploy rotates once natively rather than running testSecret alone,
	// whose pending version AWS does not document.
	if got := p["RotateImmediatelyOnUpdate"]; got != true {
		t.Errorf("TokenSecretRotationSchedule.RotateImmediatelyOnUpdate = %v, want true", got)
	}
	rules := get(t, p, "RotationRules").(map[string]any)
	for key, want := range map[string]string{"ScheduleExpression": "NativeRotationSchedule", "Duration": "NativeRotationWindow"} {
		if got := refs(rules[key]); !got[want] || len(got) != 1 {
			t.Errorf("RotationRules.%s = %v, want !Ref %s", key, rules[key], want)
		}
	}
	if _, ok := rules["AutomaticallyAfterDays"]; ok {
		t.Errorf("RotationRules.AutomaticallyAfterDays is set: it cannot go with ScheduleExpression")
	}
	// Secrets Manager checks the invoke permission when the function is
	// attached; the first token is stored before rotation starts.
	deps := list(r["DependsOn"])
	for _, want := range []string{"SecretsManagerInvokePermission", "FirstToken"} {
		if !slices.Contains(deps, any(want)) {
			t.Errorf("TokenSecretRotationSchedule.DependsOn = %v, want it to name %s", deps, want)
		}
	}
	if ty := get(t, view, "Resources", "SecretsManagerInvokePermission", "Type"); ty != "AWS::Lambda::Permission" {
		t.Errorf("SecretsManagerInvokePermission.Type = %v, want AWS::Lambda::Permission", ty)
	}
}

// TestSecretsManagerPermission holds the function's one resource-based
// permission: Secrets Manager of this account may invoke it, for any of the
// account's secrets (aws:SourceAccount, as AWS recommends; a SourceArn would
// hold it to one secret, and each added token secret has its own schedule).
// The scheduler engine has none: Scheduler invokes through its role.
func TestSecretsManagerPermission(t *testing.T) {
	for engine, view := range views(t) {
		perms := resources(t, view, "AWS::Lambda::Permission")
		if engine == engineScheduler {
			if len(perms) != 0 {
				t.Errorf("RotationEngine %s: Lambda permissions %v, want none", engine, keys(boolSet(perms)))
			}
			continue
		}
		if len(perms) != 1 {
			t.Fatalf("RotationEngine %s: Lambda permissions %v, want exactly SecretsManagerInvokePermission", engine, keys(boolSet(perms)))
		}
		p := get(t, perms["SecretsManagerInvokePermission"], "Properties").(map[string]any)
		for key, want := range map[string]any{"Principal": "secretsmanager.amazonaws.com", "Action": "lambda:InvokeFunction"} {
			if p[key] != want {
				t.Errorf("SecretsManagerInvokePermission.%s = %v, want %v", key, p[key], want)
			}
		}
		if r := refs(p["FunctionName"]); !r["RotatorFunction"] || len(r) != 1 {
			t.Errorf("SecretsManagerInvokePermission.FunctionName = %v, want RotatorFunction", p["FunctionName"])
		}
		if m, _ := p["SourceAccount"].(map[string]any); len(m) != 1 || m["Ref"] != "AWS::AccountId" {
			t.Errorf("SecretsManagerInvokePermission.SourceAccount = %v, want !Ref AWS::AccountId", p["SourceAccount"])
		}
		for _, key := range []string{"SourceArn", "PrincipalOrgID", "FunctionUrlAuthType", "EventSourceToken"} {
			if v, ok := p[key]; ok {
				t.Errorf("SecretsManagerInvokePermission.%s = %v, want none", key, v)
			}
		}
	}
}

// grant is one action on one resource, as an IAM statement gives it, and
// whether the statement holds it to the secrets tagged with the stack.
type grant struct {
	action, resource string
	tagged           bool
}

func (g grant) String() string {
	if g.tagged {
		return g.action + " on " + g.resource + " (tagged)"
	}
	return g.action + " on " + g.resource
}

// roleGrants returns what the statements of RotatorFunctionRole grant in a
// view, with each statement's Sid.
func roleGrants(t *testing.T, view map[string]any) map[grant][]string {
	t.Helper()
	out := map[grant][]string{}
	for _, s := range statements(t, view) {
		if !strings.HasPrefix(s.where, "RotatorFunctionRole/") || s.m["Effect"] != "Allow" {
			continue
		}
		for _, a := range s.actions() {
			for _, r := range resourceTexts(t, s) {
				g := grant{a, r, pinsStack(s)}
				out[g] = append(out[g], fmtSid(s.m))
			}
		}
	}
	return out
}

// TestNativeRoleGrantsLeastPrivilege holds that the secretsmanager engine
// adds to the function's role exactly DescribeSecret and
// UpdateSecretVersionStage on the stack's token secrets (its own, and the
// added ones under the stack's prefix, tagged with the stack), which the
// scheduler engine does not grant; and nothing else.
func TestNativeRoleGrantsLeastPrivilege(t *testing.T) {
	v := views(t)
	sched, native := roleGrants(t, v[engineScheduler]), roleGrants(t, v[engineSecretsManager])
	addedTokens := ownSecretARN + stackPrefix + "*"
	// DescribeSecret on the added tokens is already granted in both
	// engines (ReadAndWriteAddedTokens), so it is not new.
	want := []grant{
		{"secretsmanager:DescribeSecret", "ref:TokenSecret", false},
		{"secretsmanager:UpdateSecretVersionStage", "ref:TokenSecret", false},
		{"secretsmanager:UpdateSecretVersionStage", addedTokens, true},
	}
	var added, removed []string
	for g := range native {
		if _, ok := sched[g]; !ok {
			added = append(added, g.String())
		}
	}
	for g := range sched {
		if _, ok := native[g]; !ok {
			removed = append(removed, g.String())
		}
	}
	var wantText []string
	for _, g := range want {
		wantText = append(wantText, g.String())
	}
	slices.Sort(added)
	slices.Sort(wantText)
	if !slices.Equal(added, wantText) {
		t.Errorf("secretsmanager engine adds to RotatorFunctionRole %q, want exactly %q", added, wantText)
	}
	if len(removed) != 0 {
		t.Errorf("secretsmanager engine takes from RotatorFunctionRole %q, want nothing", removed)
	}
	// Under the scheduler, no stage is ever moved.
	for g := range sched {
		if g.action == "secretsmanager:UpdateSecretVersionStage" {
			t.Errorf("scheduler engine grants %s, want it only with secretsmanager", g)
		}
	}
	// The added statements name no wildcard but the stack's own prefix.
	for _, g := range want {
		if strings.Contains(g.resource, "*") && !strings.HasPrefix(g.resource, ownSecretARN+stackPrefix) {
			t.Errorf("%s: a wildcard outside the stack's prefix", g)
		}
	}
}

// TestReservedConcurrencyPerEngine holds the function's reserved concurrency
// to each engine's arithmetic (the comment above it in the template).
func TestReservedConcurrencyPerEngine(t *testing.T) {
	const (
		fleet = 1000 // integrations, each due once per window
		steps = 4    // createSecret, setSecret, testSecret, finishSecret
		// A step takes from about 0.3 s (stage reads and moves) to about
		// 1 s (createSecret's token request).
		fastStep, slowStep = 0.3, 1.0
		writesPerStep      = 1  // createSecret's PutSecretValue, finishSecret's UpdateSecretVersionStage
		writeQuota         = 50 // per second, shared by the account's writes
	)
	tpl := load(t)
	for engine, want := range map[string]func(n int) string{
		// One run at a time: the run paces its own writes.
		engineScheduler: func(n int) string {
			if n != 1 {
				return "want 1: one run at a time, whose writes the run paces"
			}
			return ""
		},
		engineSecretsManager: func(n int) string {
			window := nativeWindow(t).Seconds()
			switch {
			case n < 2:
				return "want more than 1: a second due secret's step would be throttled while one runs"
			case float64(n)*writesPerStep/fastStep > writeQuota:
				return fmt.Sprintf("want at most %d a second of writes: %d slots at %.1f s a step write %.0f", writeQuota, n, fastStep, float64(n)*writesPerStep/fastStep)
			case fleet*steps*slowStep/float64(n) > window:
				return fmt.Sprintf("want %d steps done within the %.0f s window", fleet*steps, window)
			}
			return ""
		},
	} {
		reserved := get(t, tpl, "Resources", "RotatorFunction", "Properties", "ReservedConcurrentExecutions")
		truth := func(reserve bool) map[string]bool {
			m := map[string]bool{"ReserveConcurrency": reserve}
			for e, cond := range engineConditions {
				m[cond] = e == engine
			}
			return m
		}
		// ReserveConcurrency false: no reservation at all, for accounts
		// whose limit leaves none (Lambda keeps 100 unreserved).
		if r, kept := resolve(reserved, truth(false)); kept {
			t.Errorf("RotationEngine %s, ReserveConcurrency false: ReservedConcurrentExecutions = %v, want none", engine, r)
		}
		r, _ := resolve(reserved, truth(true))
		n, ok := r.(int)
		if !ok {
			t.Errorf("RotationEngine %s: ReservedConcurrentExecutions = %v, want a number", engine, reserved)
			continue
		}
		if why := want(n); why != "" {
			t.Errorf("RotationEngine %s: ReservedConcurrentExecutions = %d, %s", engine, n, why)
		}
		if n != ops.Reserved[engine] {
			t.Errorf("RotationEngine %s: ReservedConcurrentExecutions = %d, but make deploy plans for ops.Reserved %d", engine, n, ops.Reserved[engine])
		}
	}
	want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "ReserveConcurrency"}, "true"}}
	if got := get(t, tpl, "Conditions", "ReserveConcurrency"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Conditions.ReserveConcurrency = %v, want !Equals [!Ref ReserveConcurrency, \"true\"]", got)
	}
}

// TestClientSecretReservation holds the client-secret rotator's reservation
// to what make deploy plans for (ops.ReservedClientSecret): with too little
// counted, a deploy in an account just above Lambda's 100 would fail.
func TestClientSecretReservation(t *testing.T) {
	tpl := load(t)
	reserved := get(t, tpl, "Resources", "ClientSecretRotatorFunction", "Properties", "ReservedConcurrentExecutions")
	if r, kept := resolve(reserved, map[string]bool{"ReserveConcurrency": false}); kept {
		t.Errorf("ReserveConcurrency false: ClientSecretRotatorFunction reserves %v, want none", r)
	}
	r, _ := resolve(reserved, map[string]bool{"ReserveConcurrency": true})
	if n, ok := r.(int); !ok || n != ops.ReservedClientSecret {
		t.Errorf("ClientSecretRotatorFunction reserves %v, but make deploy plans for ops.ReservedClientSecret %d", r, ops.ReservedClientSecret)
	}
}
