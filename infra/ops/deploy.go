package ops

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// Deploy is what make deploy runs after sam build: it works out the
// parameter ReserveConcurrency from the account's Lambda concurrency,
// unless the samconfig file already sets it, and runs sam deploy with the
// file's parameter overrides and that one. sam takes --parameter-overrides
// on the command line in place of the file's, never beside them, hence the
// merge.
type Deploy struct {
	// Stack is the stack's name. Required.
	Stack string
	// ConfigFile is the samconfig file sam reads. Required.
	ConfigFile string
	// Guided runs sam deploy --guided, as a first deploy (a file without
	// parameter_overrides) does anyway.
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

// Run deploys.
func (d Deploy) Run(ctx context.Context) error {
	out := d.Out
	if out == nil {
		out = os.Stdout
	}
	raw, err := os.ReadFile(d.ConfigFile)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d.ConfigFile, err)
	}
	overrides, err := ParameterOverrides(string(raw))
	if err != nil {
		return fmt.Errorf("%s: %w", d.ConfigFile, err)
	}
	guided := d.Guided || overrides == ""
	if v, set := overrideValue(overrides, "ReserveConcurrency"); set {
		fmt.Fprintf(out, "ReserveConcurrency=%s, as %s sets it\n", v, d.ConfigFile)
	} else {
		engine, known := overrideValue(overrides, "RotationEngine")
		if !known && !guided {
			engine = EngineScheduler // the template's default
		}
		plan, err := CheckReservation(ctx, d.Lambda, d.functionName(ctx), engine)
		if err != nil {
			return fmt.Errorf("%w; set ReserveConcurrency=true or false in parameter_overrides in %s to deploy without this check", err, d.ConfigFile)
		}
		fmt.Fprintf(out, "ReserveConcurrency=%t: %s\n", plan.Reserve, plan.Why)
		if !plan.Reserve {
			overrides = strings.TrimSpace(overrides + " ReserveConcurrency=false")
		}
	}
	args := []string{"deploy", "--config-file", d.ConfigFile, "--stack-name", d.Stack}
	if guided {
		fmt.Fprintf(out, "sam deploy --guided: answers are saved to %s, so later deploys ask nothing\n", d.ConfigFile)
		args = append(args, "--guided")
	}
	if overrides != "" {
		args = append(args, "--parameter-overrides", overrides)
	}
	return d.Exec(ctx, "sam", args...)
}

// functionName returns the stack's rotator function, or "" when the stack
// (or the client to read it) is not there.
func (d Deploy) functionName(ctx context.Context) string {
	if d.Stacks == nil {
		return ""
	}
	resp, err := d.Stacks.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.Stack)})
	if err != nil || len(resp.Stacks) == 0 {
		return "" // a new stack, or one we cannot read: no reservation to give back
	}
	for _, o := range resp.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == OutputFunctionName {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

// overridesLine matches the parameter_overrides key of a samconfig file and
// what follows it on the line.
var overridesLine = regexp.MustCompile(`(?m)^\s*parameter_overrides\s*=\s*(.*)$`)

// ParameterOverrides returns the parameter_overrides of a samconfig file, as
// one string of Key=Value pairs that sam deploy --parameter-overrides takes:
// "" when there are none. sam writes them as one TOML string; a TOML array
// of strings (one pair each, on one line or several) is joined with spaces.
func ParameterOverrides(samconfig string) (string, error) {
	loc := overridesLine.FindStringSubmatchIndex(samconfig)
	if loc == nil {
		return "", nil
	}
	rest := samconfig[loc[2]:]
	if body, isArray := strings.CutPrefix(rest, "["); isArray {
		var parts []string
		for {
			body = strings.TrimLeft(body, " \t\r\n,")
			if strings.HasPrefix(body, "]") {
				return strings.Join(parts, " "), nil
			}
			if body == "" {
				return "", fmt.Errorf("parameter_overrides: an array without its closing ]")
			}
			s, n, err := tomlString(body)
			if err != nil {
				return "", fmt.Errorf("parameter_overrides: %w", err)
			}
			parts = append(parts, s)
			body = body[n:]
		}
	}
	s, _, err := tomlString(rest)
	if err != nil {
		return "", fmt.Errorf("parameter_overrides: %w", err)
	}
	return s, nil
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
