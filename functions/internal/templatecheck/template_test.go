package templatecheck

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// templatePath is template.yaml at the repository root, seen from here.
const templatePath = "../../../template.yaml"

// load parses template.yaml into maps, slices and scalars, with short-form
// intrinsic functions in their long form.
func load(t *testing.T) map[string]any {
	t.Helper()
	v, err := convert(loadNode(t))
	if err != nil {
		t.Fatalf("parsing %s: %v", templatePath, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is a %T, want a mapping", templatePath, v)
	}
	return m
}

// loadNode parses template.yaml into a YAML node tree, which keeps the
// comments that load drops.
func loadNode(t *testing.T) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatalf("reading the template: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing %s: %v", templatePath, err)
	}
	return &doc
}

// convert turns a YAML node into plain Go values. A short-form tag such as
// !Sub becomes a one-key map {"Fn::Sub": value}; !Ref becomes {"Ref": value}
// and a scalar !GetAtt "A.B" becomes {"Fn::GetAtt": ["A", "B"]}, as
// CloudFormation reads them.
func convert(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: want one document", n.Line)
		}
		return convert(n.Content[0])
	case yaml.AliasNode:
		return convert(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return convertShortForm(n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// convertShortForm handles a node tagged !Ref, !GetAtt, !Condition or !Fn.
func convertShortForm(n *yaml.Node) (any, error) {
	name := strings.TrimPrefix(n.Tag, "!")
	untagged := *n
	untagged.Tag = ""
	if n.Kind == yaml.ScalarNode {
		untagged.Tag = "!!str"
	}
	v, err := convert(&untagged)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

// get walks a path of map keys, failing the test when a step is missing.
func get(t *testing.T, v any, path ...string) any {
	t.Helper()
	for i, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is a %T, want a mapping", strings.Join(path[:i], "."), v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(path[:i+1], "."))
		}
	}
	return v
}

// resources returns the template's resources whose Type is one of types.
func resources(t *testing.T, tpl map[string]any, types ...string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range get(t, tpl, "Resources").(map[string]any) {
		res, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("Resources.%s is a %T, want a mapping", id, r)
		}
		for _, ty := range types {
			if res["Type"] == ty {
				out[id] = res
			}
		}
	}
	return out
}

// branches resolves Fn::If to both of its outcomes and drops AWS::NoValue:
// a check on the result holds whatever the parameters.
func branches(v any) []any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
			return append(branches(args[1]), branches(args[2])...)
		}
		if m["Ref"] == "AWS::NoValue" {
			return nil
		}
	}
	return []any{v}
}

// list flattens a value that CloudFormation accepts as one item or a list,
// resolving Fn::If at both levels.
func list(v any) []any {
	var out []any
	for _, b := range branches(v) {
		if s, ok := b.([]any); ok {
			for _, item := range s {
				out = append(out, branches(item)...)
			}
			continue
		}
		out = append(out, b)
	}
	return out
}

// pseudo are the pseudo parameters; a reference to one names no resource.
var pseudo = map[string]bool{
	"AWS::AccountId": true, "AWS::Partition": true, "AWS::Region": true, "AWS::URLSuffix": true,
	"AWS::StackName": true, "AWS::StackId": true, "AWS::NoValue": true,
}

// refs returns the logical ids and parameters an expression refers to,
// through Ref, Fn::GetAtt and the ${...} variables of Fn::Sub (less the
// variables its own map defines), pseudo parameters excluded.
func refs(v any) map[string]bool {
	out := map[string]bool{}
	var walk func(v any, local map[string]bool)
	walk = func(v any, local map[string]bool) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x, local)
			}
		case map[string]any:
			for k, x := range v {
				switch k {
				case "Ref":
					if s, ok := x.(string); ok && !pseudo[s] && !local[s] {
						out[s] = true
					}
				case "Fn::GetAtt":
					if s, ok := x.([]any); ok && len(s) > 0 {
						if id, ok := s[0].(string); ok {
							out[id] = true
						}
					}
				case "Fn::Sub":
					str, vars := x, map[string]any{}
					if s, ok := x.([]any); ok && len(s) == 2 {
						str = s[0]
						vars, _ = s[1].(map[string]any)
					}
					inner := map[string]bool{}
					for name, e := range vars {
						inner[name] = true
						walk(e, local)
					}
					if s, ok := str.(string); ok {
						for _, name := range subVariables(s) {
							name, _, _ = strings.Cut(name, ".")
							if !pseudo[name] && !inner[name] {
								out[name] = true
							}
						}
					}
				default:
					walk(x, local)
				}
			}
		}
	}
	walk(v, nil)
	return out
}

// subVariables returns the names inside ${...} in an Fn::Sub string, less
// the ${!Literal} escapes.
func subVariables(s string) []string {
	var names []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return names
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return names
		}
		if name := s[i+2 : i+j]; !strings.HasPrefix(name, "!") {
			names = append(names, name)
		}
		s = s[i+j+1:]
	}
}

func TestConvertShortForms(t *testing.T) {
	src := `
a: !Ref X
b: !GetAtt Y.Arn
c: !Sub "${Z}-${AWS::Region}"
d: !If [C, !Ref P, !Ref AWS::NoValue]
e: !Select [0, !Split [",", !Ref L]]
f: 60
g: "60"
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	v, err := convert(&n)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(v)
	want := "map[a:map[Ref:X] b:map[Fn::GetAtt:[Y Arn]] c:map[Fn::Sub:${Z}-${AWS::Region}] " +
		"d:map[Fn::If:[C map[Ref:P] map[Ref:AWS::NoValue]]] e:map[Fn::Select:[0 map[Fn::Split:[, map[Ref:L]]]]] f:60 g:60]"
	if got != want {
		t.Errorf("convert() = %s, want %s", got, want)
	}
	m := v.(map[string]any)
	if _, ok := m["f"].(int); !ok {
		t.Errorf("f is a %T, want int", m["f"])
	}
	if _, ok := m["g"].(string); !ok {
		t.Errorf("g is a %T, want string", m["g"])
	}
	if r := refs(m["c"]); len(r) != 1 || !r["Z"] {
		t.Errorf("refs(c) = %v, want only Z", r)
	}
}

// environment returns the environment variables of the function fn as SAM
// deploys them: Globals.Function's, then the function's own, which win.
func environment(t *testing.T, tpl map[string]any, fn string) map[string]any {
	t.Helper()
	vars := map[string]any{}
	if g, ok := tpl["Globals"].(map[string]any); ok {
		maps.Copy(vars, get(t, g, "Function", "Environment", "Variables").(map[string]any))
	}
	props := get(t, tpl, "Resources", fn, "Properties").(map[string]any)
	if env, ok := props["Environment"]; ok {
		maps.Copy(vars, get(t, env, "Variables").(map[string]any))
	}
	return vars
}
