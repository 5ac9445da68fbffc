package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestParameterGroups holds the parameter groups the console and sam deploy
// --guided show: basic, provider, engine, fleet, advanced, in that order,
// with every parameter in exactly one of them.
func TestParameterGroups(t *testing.T) {
	tpl := load(t)
	groups := list(get(t, tpl, "Metadata", "AWS::CloudFormation::Interface", "ParameterGroups"))
	wantLabels := []string{"basic", "provider", "engine", "client-secret", "fleet", "advanced"}
	if len(groups) != len(wantLabels) {
		t.Fatalf("%d parameter groups, want %d: %v", len(groups), len(wantLabels), wantLabels)
	}
	seen := map[string]string{}
	for i, g := range groups {
		label, _ := get(t, g, "Label", "default").(string)
		if !strings.Contains(strings.ToLower(label), wantLabels[i]) {
			t.Errorf("parameter group %d is %q, want the %s group there", i+1, label, wantLabels[i])
		}
		for _, p := range list(get(t, g, "Parameters")) {
			name := fmt.Sprint(p)
			if other, dup := seen[name]; dup {
				t.Errorf("parameter %s is in group %q and in %q", name, other, label)
			}
			seen[name] = label
		}
	}
	params := get(t, tpl, "Parameters").(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if _, ok := seen[name]; !ok {
			t.Errorf("parameter %s is in no parameter group", name)
		}
	}
	for name := range seen {
		if _, ok := params[name]; !ok {
			t.Errorf("parameter group lists %s, which is not a parameter", name)
		}
	}
}

// TestAlarmEmailRule holds that the alarms reach someone: AlarmEmail has no
// default, takes an address or the explicit none and nothing else, and
// subscribes the address unless it is none.
func TestAlarmEmailRule(t *testing.T) {
	tpl := load(t)
	p := get(t, tpl, "Parameters", "AlarmEmail").(map[string]any)
	if d, has := p["Default"]; has {
		t.Errorf("Parameters.AlarmEmail.Default = %q, want none: a deploy must say where the alarms go", d)
	}
	re := parameterPattern(t, "AlarmEmail")
	for v, want := range map[string]bool{
		"ops@example.com": true, "first.last+rotator@sub.example.co.uk": true, "none": true,
		"": false, "None": false, "ops": false, "ops@example": false, "a b@example.com": false, "ops@example.com,x@example.com": false,
	} {
		if got := re.MatchString(v); got != want {
			t.Errorf("AlarmEmail pattern takes %q = %v, want %v", v, got, want)
		}
	}
	want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmEmail"}, "none"}}}}
	if got := get(t, tpl, "Conditions", "HasAlarmEmail"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Conditions.HasAlarmEmail = %v, want !Not [!Equals [!Ref AlarmEmail, none]]", got)
	}
	sub := get(t, tpl, "Resources", "AlarmEmailSubscription").(map[string]any)
	if sub["Condition"] != "HasAlarmEmail" || !refs(get(t, sub, "Properties", "Endpoint"))["AlarmEmail"] {
		t.Errorf("AlarmEmailSubscription = %v, want the AlarmEmail endpoint under HasAlarmEmail", sub)
	}
}

// TestCreateDashboard holds that the dashboard, most of the stack's cost,
// can be turned off, and is on by default.
func TestCreateDashboard(t *testing.T) {
	tpl := load(t)
	if d := get(t, tpl, "Parameters", "CreateDashboard", "Default"); d != "true" {
		t.Errorf("Parameters.CreateDashboard.Default = %v, want true", d)
	}
	want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "CreateDashboard"}, "true"}}
	if got := get(t, tpl, "Conditions", "CreateDashboard"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Conditions.CreateDashboard = %v, want !Equals [!Ref CreateDashboard, \"true\"]", got)
	}
	for _, path := range [][]string{{"Resources", "Dashboard"}, {"Outputs", "DashboardUrl"}} {
		if c := get(t, tpl, append(path, "Condition")...); c != "CreateDashboard" {
			t.Errorf("%s.Condition = %v, want CreateDashboard", strings.Join(path, "."), c)
		}
	}
}

// TestRefreshAfterStillDeploys holds the rename of RefreshAfter to
// MinTokenAge: a samconfig that still sets RefreshAfter deploys (the
// parameter stays, empty by default, and wins when set), and the function
// reads the value as MIN_TOKEN_AGE only.
func TestRefreshAfterStillDeploys(t *testing.T) {
	tpl := load(t)
	if d := get(t, tpl, "Parameters", "RefreshAfter", "Default"); d != "" {
		t.Errorf("Parameters.RefreshAfter.Default = %q, want empty: MinTokenAge's default must hold", d)
	}
	if d := get(t, tpl, "Parameters", "MinTokenAge", "Default"); d != "1h" {
		t.Errorf("Parameters.MinTokenAge.Default = %q, want 1h", d)
	}
	vars := environment(t, tpl, "RotatorFunction")
	want := map[string]any{"Fn::If": []any{"HasRefreshAfter", map[string]any{"Ref": "RefreshAfter"}, map[string]any{"Ref": "MinTokenAge"}}}
	if got := vars["MIN_TOKEN_AGE"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("MIN_TOKEN_AGE = %v, want !If [HasRefreshAfter, !Ref RefreshAfter, !Ref MinTokenAge]", got)
	}
	if _, old := vars["REFRESH_AFTER"]; old {
		t.Errorf("the function still gets REFRESH_AFTER: it would log a deprecation on every deployed stack")
	}
	cond := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "RefreshAfter"}, ""}}}}
	if got := get(t, tpl, "Conditions", "HasRefreshAfter"); fmt.Sprint(got) != fmt.Sprint(cond) {
		t.Errorf("Conditions.HasRefreshAfter = %v, want !Not [!Equals [!Ref RefreshAfter, \"\"]]", got)
	}
}
