package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// Deploy is what make deploy runs: it keeps the user's parameters in a
// samconfig file of their own (LocalFile, which git ignores), never in the
// tracked one; works out the parameter ReserveConcurrency from the
// account's Lambda concurrency, unless the file sets it; then runs sam build
// and sam deploy, without a question unless Guided. sam takes
// --parameter-overrides on the command line in place of the file's, never
// beside them, hence the merge.
type Deploy struct {
	// Stack is the stack's name. Required.
	Stack string
	// ConfigFile is the tracked samconfig file: the settings every user
	// shares (bucket, capabilities), never a user's values. Required.
	ConfigFile string
	// LocalFile is the user's samconfig file: ConfigFile's settings and the
	// user's parameter_overrides. Deploy creates it from ConfigFile when it
	// is missing. Required.
	LocalFile string
	// Set holds parameters given on the command line (make deploy
	// CREDENTIALS=... ALARM_EMAIL=...), by name; Deploy checks them and
	// saves them in LocalFile.
	Set map[string]string
	// Guided runs sam deploy --guided, which asks for every parameter.
	Guided bool
	// Lambda reads the account's concurrency. Required.
	Lambda ConcurrencyAPI
	// Stacks finds the stack's function, when the stack exists. Nil
	// skips that: a new stack has none.
	Stacks StacksAPI
	// Exec runs a command with the terminal's input and output. Required.
	Exec func(ctx context.Context, name string, args ...string) error
	// Out receives the lines Deploy prints; nil means os.Stdout.
	Out io.Writer
}

// The parameters make deploy takes from its command line, the make
// variable for each, and what a value must look like.
var deployParams = []struct {
	param, variable string
	valid           *regexp.Regexp
	want            string
}{
	{"CredentialsSecretArn", "CREDENTIALS", regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`),
		"the credentials secret's full ARN, as make credentials prints it (it ends with -XXXXXX)"},
	{"AlarmEmail", "ALARM_EMAIL", regexp.MustCompile(`^(none|[^\s@"]+@[^\s@"]+\.[^\s@"]+)$`),
		"an e-mail address for the alarms, or none for alarms that notify nobody (subscribe to the output AlarmTopicArn yourself)"},
}

// Run deploys.
func (d Deploy) Run(ctx context.Context) error {
	out := d.Out
	if out == nil {
		out = os.Stdout
	}
	for _, p := range deployParams {
		if v, given := d.Set[p.param]; given && !p.valid.MatchString(v) {
			return fmt.Errorf("%s=%q: want %s", p.variable, v, p.want)
		}
	}
	local, err := d.localConfig(out)
	if err != nil {
		return err
	}
	overrides, span, err := parameterOverrides(local)
	if err != nil {
		return fmt.Errorf("%s: %w", d.LocalFile, err)
	}
	changed := false
	for _, p := range deployParams {
		v, given := d.Set[p.param]
		if !given {
			continue
		}
		if old, _ := overrideValue(overrides, p.param); old != v {
			overrides, changed = setOverride(overrides, p.param, v), true
		}
	}
	if changed {
		if err := os.WriteFile(d.LocalFile, []byte(withOverrides(local, span, overrides)), 0o600); err != nil {
			return fmt.Errorf("saving the parameters in %s: %w", d.LocalFile, err)
		}
		fmt.Fprintf(out, "saved CredentialsSecretArn and AlarmEmail in %s (git ignores it)\n", d.LocalFile)
	}
	if !d.Guided {
		for _, p := range deployParams {
			if v, _ := overrideValue(overrides, p.param); v == "" {
				return fmt.Errorf("no %s yet: run make deploy %s=<%s> (saved for later deploys), or GUIDED=1 make deploy to be asked for every parameter",
					p.param, p.variable, p.want)
			}
		}
	}
	if v, set := overrideValue(overrides, "ReserveConcurrency"); set {
		fmt.Fprintf(out, "ReserveConcurrency=%s, as %s sets it\n", v, d.LocalFile)
	} else {
		engine, known := overrideValue(overrides, "RotationEngine")
		if !known && !d.Guided {
			engine = EngineScheduler // the template's default
		}
		clientSecret, known := overrideValue(overrides, "ClientSecretRotation")
		if !known && !d.Guided {
			clientSecret = "none" // the template's default
		}
		plan, err := CheckReservation(ctx, d.Lambda, d.functionNames(ctx), engine, clientSecret)
		if err != nil {
			return fmt.Errorf("%w; set ReserveConcurrency=true or false in parameter_overrides in %s to deploy without this check", err, d.LocalFile)
		}
		fmt.Fprintf(out, "ReserveConcurrency=%t: %s\n", plan.Reserve, plan.Why)
		if !plan.Reserve {
			overrides = strings.TrimSpace(overrides + " ReserveConcurrency=false")
		}
	}
	if err := d.Exec(ctx, "sam", "build", "--config-file", d.LocalFile); err != nil {
		return fmt.Errorf("sam build: %w", err)
	}
	args := []string{"deploy", "--config-file", d.LocalFile, "--stack-name", d.Stack}
	if d.Guided {
		fmt.Fprintf(out, "sam deploy --guided: answers are saved to %s\n", d.LocalFile)
		args = append(args, "--guided")
	} else {
		args = append(args, "--no-confirm-changeset")
	}
	if overrides != "" {
		args = append(args, "--parameter-overrides", overrides)
	}
	return d.Exec(ctx, "sam", args...)
}

// localConfig returns LocalFile's text, creating it from ConfigFile first
// when it is missing. Parameters an earlier guided deploy saved in
// ConfigFile move with it.
func (d Deploy) localConfig(out io.Writer) (string, error) {
	raw, err := os.ReadFile(d.LocalFile)
	if err == nil {
		return string(raw), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", d.LocalFile, err)
	}
	raw, err = os.ReadFile(d.ConfigFile)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", d.ConfigFile, err)
	}
	if err := os.WriteFile(d.LocalFile, raw, 0o600); err != nil {
		return "", fmt.Errorf("creating %s: %w", d.LocalFile, err)
	}
	fmt.Fprintf(out, "created %s from %s: your parameters go there, and git ignores it\n", d.LocalFile, d.ConfigFile)
	if o, _, _ := parameterOverrides(string(raw)); o != "" {
		fmt.Fprintf(out, "the parameters an earlier deploy saved in %s are in %s now: git checkout %s\n", d.ConfigFile, d.LocalFile, d.ConfigFile)
	}
	return string(raw), nil
}

// functionNames returns the stack's functions that reserve concurrency
// (the rotator, and the client-secret rotator when the stack has one), or
// none when the stack (or the client to read it) is not there.
func (d Deploy) functionNames(ctx context.Context) []string {
	if d.Stacks == nil {
		return nil
	}
	resp, err := d.Stacks.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.Stack)})
	if err != nil || len(resp.Stacks) == 0 {
		return nil // a new stack, or one we cannot read: no reservation to give back
	}
	var names []string
	for _, o := range resp.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case OutputFunctionName, OutputClientSecretFunctionARN:
			if v := aws.ToString(o.OutputValue); v != "" {
				names = append(names, v)
			}
		}
	}
	return names
}

// overridesLine matches the parameter_overrides key of a samconfig file and
// what follows it on the line.
var overridesLine = regexp.MustCompile(`(?m)^[ \t]*parameter_overrides[ \t]*=[ \t]*(.*)$`)

// ParameterOverrides returns the parameter_overrides of a samconfig file, as
// one string of Key=Value pairs that sam deploy --parameter-overrides takes:
// "" when there are none. sam writes them as one TOML string; a TOML array
// of strings (one pair each, on one line or several) is joined with spaces.
func ParameterOverrides(samconfig string) (string, error) {
	v, _, err := parameterOverrides(samconfig)
	return v, err
}

// parameterOverrides is ParameterOverrides, with where the key and its value
// stand in samconfig ([-1, -1] when it has none).
func parameterOverrides(samconfig string) (string, [2]int, error) {
	none := [2]int{-1, -1}
	loc := overridesLine.FindStringSubmatchIndex(samconfig)
	if loc == nil {
		return "", none, nil
	}
	rest := samconfig[loc[2]:]
	if body, isArray := strings.CutPrefix(rest, "["); isArray {
		var parts []string
		for {
			trimmed := strings.TrimLeft(body, " \t\r\n,")
			if strings.HasPrefix(trimmed, "]") {
				end := len(samconfig) - len(trimmed) + 1
				return strings.Join(parts, " "), [2]int{loc[0], end}, nil
			}
			if trimmed == "" {
				return "", none, fmt.Errorf("parameter_overrides: an array without its closing ]")
			}
			s, n, err := tomlString(trimmed)
			if err != nil {
				return "", none, fmt.Errorf("parameter_overrides: %w", err)
			}
			parts = append(parts, s)
			body = trimmed[n:]
		}
	}
	s, n, err := tomlString(rest)
	if err != nil {
		return "", none, fmt.Errorf("parameter_overrides: %w", err)
	}
	return s, [2]int{loc[0], loc[2] + n}, nil
}

// withOverrides returns samconfig with its parameter_overrides (at span, as
// parameterOverrides found it) set to overrides, as one TOML string under
// [default.deploy.parameters].
func withOverrides(samconfig string, span [2]int, overrides string) string {
	line := "parameter_overrides = \"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(overrides) + "\""
	if span[0] >= 0 {
		return samconfig[:span[0]] + line + samconfig[span[1]:]
	}
	const section = "[default.deploy.parameters]"
	if i := strings.Index(samconfig, section); i >= 0 {
		at := i + len(section)
		return samconfig[:at] + "\n" + line + samconfig[at:]
	}
	return strings.TrimRight(samconfig, "\n") + "\n\n" + section + "\n" + line + "\n"
}

// setOverride returns overrides with key set to value, in place of the pair
// for key it had, or after the others.
func setOverride(overrides, key, value string) string {
	pair := key + `="` + value + `"`
	re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(key) + `=("[^"]*"|\S*)`)
	if re.MatchString(overrides) {
		return re.ReplaceAllStringFunc(overrides, func(m string) string {
			return m[:len(m)-len(strings.TrimLeft(m, " \t\r\n"))] + pair
		})
	}
	return strings.TrimSpace(overrides + " " + pair)
}

// tomlString reads the TOML string that s starts with, basic ("...", with
// backslash escapes) or literal ('...'), and returns it and its length in s.
func tomlString(s string) (string, int, error) {
	switch {
	case strings.HasPrefix(s, "'"):
		end := strings.Index(s[1:], "'")
		if end < 0 {
			return "", 0, fmt.Errorf("an unterminated string")
		}
		return s[1 : end+1], end + 2, nil
	case strings.HasPrefix(s, `"`):
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				v, err := strconv.Unquote(s[:i+1])
				if err != nil {
					return "", 0, fmt.Errorf("string %s: %w", s[:i+1], err)
				}
				return v, i + 1, nil
			}
		}
		return "", 0, fmt.Errorf("an unterminated string")
	}
	return "", 0, fmt.Errorf("want a string or an array of strings, got %.20q", s)
}

// overrideValue returns the value of key in sam's Key=Value pairs, without
// the quotes sam may put around it.
func overrideValue(overrides, key string) (string, bool) {
	m := regexp.MustCompile(`(?:^|\s)` + regexp.QuoteMeta(key) + `=("([^"]*)"|(\S*))`).FindStringSubmatch(overrides)
	if m == nil {
		return "", false
	}
	if m[2] != "" || strings.HasPrefix(m[1], `"`) {
		return m[2], true
	}
	return m[3], true
}
