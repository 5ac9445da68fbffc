package templatecheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dashboardID is the logical id of the stack's CloudWatch dashboard.
const dashboardID = "Dashboard"

// placeholder is what a ${Name} of the dashboard's Fn::Sub, or a Ref or
// Fn::GetAtt elsewhere, becomes in these tests: ref(RotatorFunction),
// ref(DeadLetterQueue.QueueName), ref(AWS::Region). Comparing placeholders
// compares what the template refers to.
func placeholder(name string) string { return "ref(" + name + ")" }

// placeholderOf is the placeholder of a Ref or Fn::GetAtt, as an alarm's
// dimension value is written; "" for anything else.
func placeholderOf(v any) string {
	m, _ := v.(map[string]any)
	if s, ok := m["Ref"].(string); ok && len(m) == 1 {
		return placeholder(s)
	}
	if s, ok := m["Fn::GetAtt"].([]any); ok && len(m) == 1 && len(s) == 2 {
		return placeholder(fmt.Sprintf("%v.%v", s[0], s[1]))
	}
	return ""
}

// substitute resolves an Fn::Sub (either form, its variables' values
// substituted in turn) or a plain string: ${Name} becomes placeholder(Name),
// a variable of the Fn::Sub's own map becomes its value, and ${!Literal}
// becomes ${Literal}, as CloudFormation writes it.
func substitute(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 || m["Fn::Sub"] == nil {
		return "", fmt.Errorf("%v is neither a string nor an Fn::Sub", v)
	}
	str, vars := m["Fn::Sub"], map[string]any{}
	if s, ok := str.([]any); ok {
		if len(s) != 2 {
			return "", fmt.Errorf("Fn::Sub %v: want [string, variables]", s)
		}
		str = s[0]
		if vars, ok = s[1].(map[string]any); !ok {
			return "", fmt.Errorf("Fn::Sub variables %v: want a mapping", s[1])
		}
	}
	text, ok := str.(string)
	if !ok {
		return "", fmt.Errorf("Fn::Sub of a %T, want a string", str)
	}
	values := map[string]string{}
	for name, e := range vars {
		s, err := substitute(e)
		if err != nil {
			return "", fmt.Errorf("Fn::Sub variable %s: %w", name, err)
		}
		values[name] = s
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		j := strings.Index(text[i:], "}")
		if j < 0 {
			return "", fmt.Errorf("Fn::Sub: an unclosed ${ in %q", text[i:])
		}
		b.WriteString(text[:i])
		name := text[i+2 : i+j]
		switch value, isVar := values[name]; {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case isVar:
			b.WriteString(value)
		default:
			b.WriteString(placeholder(name))
		}
		text = text[i+j+1:]
	}
}

// dashboard is the part of a CloudWatch dashboard body the tests read.
type dashboard struct {
	Widgets []widget `json:"widgets"`
}

type widget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Width      int    `json:"width"`
	Properties struct {
		Title       string   `json:"title"`
		Region      string   `json:"region"`
		Metrics     [][]any  `json:"metrics"`
		Alarms      []string `json:"alarms"`
		Annotations struct {
			Horizontal []annotation `json:"horizontal"`
		} `json:"annotations"`
	} `json:"properties"`
}

// annotation is a horizontal line on a graph.
type annotation struct {
	Value float64 `json:"value"`
	Label string  `json:"label"`
}

// dashboardOf parses the dashboard body of one engine's view of the
// template (engineView), its placeholders resolved by substitute.
func dashboardOf(t *testing.T, view map[string]any) dashboard {
	t.Helper()
	body, err := substitute(get(t, view, "Resources", dashboardID, "Properties", "DashboardBody"))
	if err != nil {
		t.Fatalf("%s.DashboardBody: %v", dashboardID, err)
	}
	var d dashboard
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("%s.DashboardBody is not JSON once substituted: %v\n%s", dashboardID, err, body)
	}
	if len(d.Widgets) == 0 {
		t.Fatalf("%s.DashboardBody has no widgets", dashboardID)
	}
	return d
}

// metricRef is one metric a graph names, directly or through a SEARCH
// expression (one ref stands for all the series the search finds).
type metricRef struct {
	widget    string
	namespace string
	name      string
	// dims maps each dimension name to the value the graph asks for; ""
	// for a SEARCH schema's dimension that the search leaves open (one
	// series per value).
	dims   map[string]string
	stat   string
	search bool
}

// dimSet is the sorted dimension names of r, comma-joined, as dimKey
// writes the function's.
func (r metricRef) dimSet() string { return dimKey(slices.Collect(maps.Keys(r.dims))) }

func (r metricRef) String() string {
	kind := "metric"
	if r.search {
		kind = "SEARCH"
	}
	return fmt.Sprintf("%s %s/%s %v (%s) in %q", kind, r.namespace, r.name, r.dims, r.stat, r.widget)
}

// dimKey is the sorted dimension names, comma-joined.
func dimKey(names []string) string {
	slices.Sort(names)
	return strings.Join(names, ",")
}

// metricRefs returns every metric the dashboard's graphs name.
func metricRefs(t *testing.T, d dashboard) []metricRef {
	t.Helper()
	var refs []metricRef
	for _, w := range d.Widgets {
		for _, entry := range w.Properties.Metrics {
			r, err := entryRefs(w.Properties.Title, entry)
			if err != nil {
				t.Errorf("widget %q: %v", w.Properties.Title, err)
			}
			refs = append(refs, r...)
		}
	}
	return refs
}

// entryRefs reads one entry of a graph's metrics: either a metric,
// [Namespace, MetricName, Dim1, Value1, ..., {options}], or an expression,
// [{"expression": ...}], whose SEARCH functions it reads.
func entryRefs(title string, entry []any) ([]metricRef, error) {
	if len(entry) == 0 {
		return nil, fmt.Errorf("an empty metrics entry")
	}
	if opts, ok := entry[0].(map[string]any); ok {
		expr, _ := opts["expression"].(string)
		if expr == "" || len(entry) != 1 {
			return nil, fmt.Errorf("%v: an entry starting with an object must be one expression", entry)
		}
		return searchRefs(title, expr)
	}
	var words []string
	var opts map[string]any
	for i, x := range entry {
		switch x := x.(type) {
		case string:
			if x == "." || x == "..." {
				return nil, fmt.Errorf("%v: write every metric out, without the %q shorthand", entry, x)
			}
			words = append(words, x)
		case map[string]any:
			if i != len(entry)-1 {
				return nil, fmt.Errorf("%v: options must come last", entry)
			}
			opts = x
		default:
			return nil, fmt.Errorf("%v: a %T in a metric", entry, x)
		}
	}
	if len(words) < 2 || len(words)%2 != 0 {
		return nil, fmt.Errorf("%v: want namespace, metric name and dimension name/value pairs", entry)
	}
	r := metricRef{widget: title, namespace: words[0], name: words[1], dims: map[string]string{}}
	r.stat, _ = opts["stat"].(string)
	for i := 2; i < len(words); i += 2 {
		r.dims[words[i]] = words[i+1]
	}
	return []metricRef{r}, nil
}

var (
	// searchCall is SEARCH('query', 'Statistic', Period).
	searchCall = regexp.MustCompile(`SEARCH\('([^']*)',\s*'([^']*)'(?:,\s*[0-9]+)?\)`)
	// searchSchema is the {Namespace,Dim1,...} that opens a query.
	searchSchema = regexp.MustCompile(`^\s*\{([^}]*)\}`)
	// searchTerm is an exact-match designator, Name="value".
	searchTerm = regexp.MustCompile(`([A-Za-z]+)="([^"]*)"`)
)

// searchRefs reads the SEARCH functions of an expression. It accepts only
// the plain form whose result can be checked: a schema, whose dimension
// set a found metric has exactly, and exact-match designators joined by
// spaces (an implicit AND), one of them MetricName, the others values of
// the schema's dimensions.
func searchRefs(title, expr string) ([]metricRef, error) {
	calls := searchCall.FindAllStringSubmatch(expr, -1)
	if n := strings.Count(expr, "SEARCH("); n != len(calls) {
		return nil, fmt.Errorf("%s: %d SEARCH calls, %d of the form SEARCH('query', 'Statistic', Period)", expr, n, len(calls))
	}
	var refs []metricRef
	for _, c := range calls {
		query, stat := c[1], c[2]
		schema := searchSchema.FindStringSubmatch(query)
		if schema == nil {
			return nil, fmt.Errorf("%s: no {Namespace,Dimension,...} schema: the search would find any dimension set", query)
		}
		names := strings.Split(schema[1], ",")
		for i := range names {
			names[i] = strings.Trim(strings.TrimSpace(names[i]), `"`)
		}
		r := metricRef{widget: title, namespace: names[0], dims: map[string]string{}, stat: stat, search: true}
		for _, d := range names[1:] {
			r.dims[d] = ""
		}
		terms := query[len(schema[0]):]
		for _, term := range searchTerm.FindAllStringSubmatch(terms, -1) {
			switch key, value := term[1], term[2]; {
			case key == "MetricName":
				r.name = value
			case r.dims[key] != "":
				return nil, fmt.Errorf("%s: %s given twice", query, key)
			default:
				if _, ok := r.dims[key]; !ok {
					return nil, fmt.Errorf("%s: %s is not a dimension of the schema", query, key)
				}
				r.dims[key] = value
			}
		}
		if rest := strings.TrimSpace(searchTerm.ReplaceAllString(terms, "")); rest != "" {
			return nil, fmt.Errorf("%s: %q is not an exact Name=\"value\" term", query, rest)
		}
		if r.name == "" {
			return nil, fmt.Errorf("%s: no MetricName=\"...\" term", query)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// hours formats a span in seconds as a line's label starts with it.
func hours(seconds int) string { return strconv.Itoa(seconds/3600) + " h" }

func TestSubstitute(t *testing.T) {
	v := map[string]any{"Fn::Sub": []any{
		`["${A.Arn}"${More}] ${!PROP('Dim.X')} ${AWS::Region}`,
		map[string]any{"More": map[string]any{"Fn::Sub": `, "${B.Arn}"`}},
	}}
	got, err := substitute(v)
	want := `["ref(A.Arn)", "ref(B.Arn)"] ${PROP('Dim.X')} ref(AWS::Region)`
	if err != nil || got != want {
		t.Errorf("substitute() = %q, %v, want %q", got, err, want)
	}
	if _, err := substitute(map[string]any{"Fn::Join": []any{"", []any{"a"}}}); err == nil {
		t.Errorf("substitute(Fn::Join) = nil error, want one")
	}
}

func TestSearchRefs(t *testing.T) {
	got, err := searchRefs("g", `MAX(SEARCH('{TokenRotator,FunctionName,Integration} MetricName="M" FunctionName="f"', 'p99', 3600))`)
	if err != nil || len(got) != 1 {
		t.Fatalf("searchRefs() = %v, %v, want one ref", got, err)
	}
	if r := got[0]; r.namespace != "TokenRotator" || r.name != "M" || r.stat != "p99" || !r.search ||
		!maps.Equal(r.dims, map[string]string{"FunctionName": "f", "Integration": ""}) {
		t.Errorf("searchRefs() = %+v, want TokenRotator/M p99 {FunctionName: f, Integration: open}", r)
	}
	for name, expr := range map[string]string{
		"no schema":         `SEARCH('MetricName="M"', 'Sum', 60)`,
		"no metric name":    `SEARCH('{TokenRotator,FunctionName} FunctionName="f"', 'Sum', 60)`,
		"partial match":     `SEARCH('{TokenRotator,FunctionName} MetricName="M" retries', 'Sum', 60)`,
		"boolean operator":  `SEARCH('{TokenRotator,FunctionName} MetricName="M" OR MetricName="N"', 'Sum', 60)`,
		"not in the schema": `SEARCH('{TokenRotator,FunctionName} MetricName="M" Integration="a"', 'Sum', 60)`,
		"unreadable call":   `SEARCH("{TokenRotator,FunctionName} MetricName='M'", 'Sum', 60)`,
	} {
		if got, err := searchRefs("g", expr); err == nil {
			t.Errorf("%s: searchRefs(%s) = %v, want an error", name, expr, got)
		}
	}
}
