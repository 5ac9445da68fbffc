package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// namedOnce checks that the names documented, each in its row, are exactly
// want, each in one row: what is missing, doubled or unknown.
func namedOnce(what string, rows map[string][]string, want []string) []string {
	var problems []string
	seen := map[string]string{}
	for _, row := range slices.Sorted(maps.Keys(rows)) {
		for _, doc := range rows[row] {
			name := doc
			if !slices.Contains(want, name) {
				problems = append(problems, fmt.Sprintf("row %q names %s %s, which the code does not have", row, what, doc))
				continue
			}
			if prev, dup := seen[name]; dup {
				problems = append(problems, fmt.Sprintf("%s %s is in two rows: %q and %q", what, doc, prev, row))
			}
			seen[name] = row
		}
	}
	for _, name := range want {
		if _, ok := seen[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s %s is in no row", what, name))
		}
	}
	return problems
}

// docTable returns the table of the section under heading in doc, or fails.
func docTable(t *testing.T, doc, heading string) [][]string {
	t.Helper()
	text, err := repodoc.Read(doc)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tableUnder(text, heading)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return rows
}

func tableUnder(text, heading string) ([][]string, error) {
	section, ok := repodoc.Section(text, heading)
	if !ok {
		return nil, fmt.Errorf("no section %q", heading)
	}
	rows := repodoc.Table(section)
	if len(rows) == 0 {
		return nil, fmt.Errorf("section %q has no table", heading)
	}
	return rows, nil
}

// parameterGroups returns the template's ParameterGroups: each label and
// its parameters, in order.
func parameterGroups(t *testing.T, tpl map[string]any) (labels []string, members map[string][]string) {
	t.Helper()
	members = map[string][]string{}
	for _, g := range get(t, tpl, "Metadata", "AWS::CloudFormation::Interface", "ParameterGroups").([]any) {
		group := g.(map[string]any)
		label := group["Label"].(map[string]any)["default"].(string)
		labels = append(labels, label)
		for _, p := range group["Parameters"].([]any) {
			members[label] = append(members[label], p.(string))
		}
	}
	return labels, members
}

// checkParametersTable holds the rows of the top-level README's parameter
// table (group | parameters | default | what to give) to the template: each
// parameter in exactly one row, under its ParameterGroups group, the groups
// in the template's order, and each default as the template has it.
func checkParametersTable(rows [][]string, params map[string]any, labels []string, members map[string][]string) []string {
	var problems []string
	named := map[string][]string{}
	groupOf := map[string]string{}
	for label, ps := range members {
		for _, p := range ps {
			groupOf[p] = label
		}
	}
	lastGroup := -1
	for _, cells := range rows {
		if len(cells) != 4 {
			problems = append(problems, fmt.Sprintf("row %q: want 4 cells (group, parameter, default, what to give)", strings.Join(cells, " | ")))
			continue
		}
		group, names, def := cells[0], repodoc.CodeSpans(cells[1]), cells[2]
		named[cells[1]] = names
		at := slices.IndexFunc(labels, func(l string) bool { return strings.Contains(strings.ToLower(l), strings.ToLower(group)) })
		switch {
		case group == "" || at < 0:
			problems = append(problems, fmt.Sprintf("row %q: group %q is none of the template's ParameterGroups %q", cells[1], group, labels))
		case at < lastGroup:
			problems = append(problems, fmt.Sprintf("row %q: group %q comes after %q, unlike the template's ParameterGroups", cells[1], group, labels[lastGroup]))
		default:
			lastGroup = at
			for _, n := range names {
				if g, ok := groupOf[n]; ok && g != labels[at] {
					problems = append(problems, fmt.Sprintf("row %q: %s is in group %q, the template has it in %q", cells[1], n, labels[at], g))
				}
			}
		}
		problems = append(problems, checkDefaults(cells[1], names, def, params)...)
	}
	return append(problems, namedOnce("parameter", named, slices.Sorted(maps.Keys(params)))...)
}

// checkDefaults holds a row's default cell to the template: "(required)"
// for parameters without a Default, "empty..." for a Default of "", and a
// cell that is only code spans, one per parameter, to the Defaults
// themselves. Other text describes a default in words and is not checked.
func checkDefaults(row string, names []string, cell string, params map[string]any) []string {
	var problems []string
	spans := repodoc.CodeSpans(cell)
	onlySpans := len(spans) > 0 && cell == "`"+strings.Join(spans, "`, `")+"`"
	for i, n := range names {
		p, ok := params[n].(map[string]any)
		if !ok {
			continue // namedOnce reports it
		}
		def, hasDefault := p["Default"]
		got := fmt.Sprint(def)
		switch {
		case cell == "(required)":
			if hasDefault {
				problems = append(problems, fmt.Sprintf("row %q: %s has the default %q, the table says it is required", row, n, got))
			}
		case !hasDefault:
			problems = append(problems, fmt.Sprintf("row %q: %s has no default, so its cell should say (required), not %q", row, n, cell))
		case strings.HasPrefix(cell, "empty"):
			if got != "" {
				problems = append(problems, fmt.Sprintf("row %q: %s defaults to %q, the table says empty", row, n, got))
			}
		case onlySpans && len(spans) == len(names):
			if spans[i] != got {
				problems = append(problems, fmt.Sprintf("row %q: %s defaults to %q, the table says %q", row, n, got, spans[i]))
			}
		}
	}
	return problems
}

// TestParametersTable holds the top-level README's table of parameters to
// template.yaml: every parameter in exactly one row, no row naming another,
// each under its ParameterGroups group, each default as the template's.
func TestParametersTable(t *testing.T) {
	tpl := load(t)
	params := get(t, tpl, "Parameters").(map[string]any)
	labels, members := parameterGroups(t, tpl)
	rows := docTable(t, repodoc.Top, "### Parameters")
	for _, p := range checkParametersTable(rows, params, labels, members) {
		t.Errorf("%s, ### Parameters: %s", repodoc.Top, p)
	}
}

// TestOutputsTable holds the top-level README's table of outputs to
// template.yaml: every output in exactly one row, no row naming another.
func TestOutputsTable(t *testing.T) {
	outputs := get(t, load(t), "Outputs").(map[string]any)
	for _, p := range checkOutputsTable(docTable(t, repodoc.Top, "### Outputs"), outputs) {
		t.Errorf("%s, ### Outputs: %s", repodoc.Top, p)
	}
}

func checkOutputsTable(rows [][]string, outputs map[string]any) []string {
	named := map[string][]string{}
	for _, cells := range rows {
		named[cells[0]] = repodoc.CodeSpans(cells[0])
	}
	return namedOnce("output", named, slices.Sorted(maps.Keys(outputs)))
}

// TestSettingsTable holds the rotator's configuration table to the code:
// its first column names exactly config.Names(), its second exactly the
// per-integration fields (config.SettingKey of config.ProviderNames()),
// each on its variable's row.
func TestSettingsTable(t *testing.T) {
	rows := docTable(t, repodoc.Rotator, "## Configuration")
	problems := checkSettingsTable(rows, config.Names(), config.ProviderNames())
	for _, p := range problems {
		t.Errorf("%s, ## Configuration: %s", repodoc.Rotator, p)
	}
}

func checkSettingsTable(rows [][]string, names, providerNames []string) []string {
	var problems []string
	vars, fields := map[string][]string{}, map[string][]string{}
	var wantFields []string
	for _, n := range providerNames {
		wantFields = append(wantFields, config.SettingKey(n))
	}
	for _, cells := range rows {
		if len(cells) < 2 {
			problems = append(problems, fmt.Sprintf("row %q: want a variable and a field column", strings.Join(cells, " | ")))
			continue
		}
		v, f := repodoc.CodeSpans(cells[0]), repodoc.CodeSpans(cells[1])
		vars[cells[0]], fields[cells[0]] = v, f
		if len(f) > 0 && (len(v) != 1 || len(f) != 1 || f[0] != config.SettingKey(v[0])) {
			problems = append(problems, fmt.Sprintf("row %q: field %q is not the variable's (config.SettingKey)", cells[0], cells[1]))
		}
	}
	problems = append(problems, namedOnce("variable", vars, names)...)
	return append(problems, namedOnce("per-integration field", fields, wantFields)...)
}

// TestDocsTableChecksFail breaks copies of the three tables, one way each,
// and holds that each check then fails: a check that cannot fail would hold
// nothing.
func TestDocsTableChecksFail(t *testing.T) {
	tpl := load(t)
	params := get(t, tpl, "Parameters").(map[string]any)
	labels, members := parameterGroups(t, tpl)
	paramRows := docTable(t, repodoc.Top, "### Parameters")
	outputs := get(t, tpl, "Outputs").(map[string]any)
	outputRows := docTable(t, repodoc.Top, "### Outputs")
	settingRows := docTable(t, repodoc.Rotator, "## Configuration")

	without := func(rows [][]string, i int) [][]string { return slices.Delete(slices.Clone(rows), i, i+1) }
	with := func(rows [][]string, row ...string) [][]string { return append(slices.Clone(rows), row) }
	changed := func(rows [][]string, i, j int, v string) [][]string {
		out := slices.Clone(rows)
		out[i] = slices.Clone(out[i])
		out[i][j] = v
		return out
	}
	tests := []struct {
		name     string
		problems []string
	}{
		{"a parameter's row left out", checkParametersTable(without(paramRows, 0), params, labels, members)},
		{"a parameter that does not exist", checkParametersTable(with(paramRows, "advanced", "`NoSuchParameter`", "empty", "x"), params, labels, members)},
		{"a parameter under another group", checkParametersTable(changed(paramRows, 0, 0, "advanced"), params, labels, members)},
		{"a wrong default", checkParametersTable(changed(paramRows, slices.IndexFunc(paramRows, func(r []string) bool { return r[1] == "`RotationEngine`" }), 2, "`secretsmanager`"), params, labels, members)},
		{"an output's row left out", checkOutputsTable(without(outputRows, 0), outputs)},
		{"an output that does not exist", checkOutputsTable(with(outputRows, "`NoSuchOutput`", "x"), outputs)},
		{"a variable's row left out", checkSettingsTable(without(settingRows, 0), config.Names(), config.ProviderNames())},
		{"a variable that does not exist", checkSettingsTable(with(settingRows, "`NO_SUCH_VARIABLE`", "", "", ""), config.Names(), config.ProviderNames())},
		{"a field left out", checkSettingsTable(changed(settingRows, slices.IndexFunc(settingRows, func(r []string) bool { return r[1] == "`scope`" }), 1, ""), config.Names(), config.ProviderNames())},
		{"a field on the wrong row", checkSettingsTable(changed(settingRows, slices.IndexFunc(settingRows, func(r []string) bool { return r[1] == "`scope`" }), 1, "`token_url`"), config.Names(), config.ProviderNames())},
	}
	for _, tt := range tests {
		if len(tt.problems) == 0 {
			t.Errorf("%s: the check found nothing wrong", tt.name)
		} else {
			t.Logf("%s: %s", tt.name, tt.problems[0])
		}
	}
}
