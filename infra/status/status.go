package status

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// DefaultWindow is how far back the screen looks for each integration's
// last run.
const DefaultWindow = 48 * time.Hour

// DefaultConcurrency is how many token secrets are read at once.
const DefaultConcurrency = 8

// Config wires Write.
type Config struct {
	// Stack holds the deployed stack's facts; see Resolve. Name,
	// FunctionName, SecretPrefix and TokenSecretID are required.
	Stack Stack
	// Secrets is Secrets Manager. Required.
	Secrets SecretsAPI
	// Metrics reads the last runs; nil means they are not shown, and the
	// next scheduled run is bounded from now.
	Metrics MetricsAPI
	// Alarms lists the alarms in ALARM; nil means they are not shown.
	Alarms AlarmsAPI
	// Queues reads the dead-letter queue's depth; nil, or an empty
	// Stack.DeadLetterQueueURL, means it is not shown.
	Queues QueuesAPI
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is how far back to look for the last runs; zero means
	// DefaultWindow.
	Window time.Duration
	// Concurrency is how many token secrets are read at once; zero means
	// DefaultConcurrency.
	Concurrency int
}

// Write reads the stack's state and writes the screen to w. ok is true when
// every token outlives its integration's next run (the screen's last line
// says which do not). err is not nil when the screen could not be made at
// all: the stack's facts are missing, or its integrations cannot be listed.
// A token secret that cannot be read is shown as such and makes ok false;
// metrics, alarms or a queue that cannot be read are shown as such.
func Write(ctx context.Context, w io.Writer, cfg Config) (ok bool, err error) {
	r, err := read(ctx, cfg)
	if err != nil {
		return false, err
	}
	r.Print(w)
	return r.OK(), nil
}

// read reads the stack's state: each integration's token secret, its last
// run, the alarms in ALARM and the dead-letter queue's depth. See Write.
func read(ctx context.Context, cfg Config) (*report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	window := cfg.Window
	if window <= 0 {
		window = DefaultWindow
	}
	r := &report{Stack: cfg.Stack, At: now().UTC(), Window: window}
	names, err := integrations(ctx, cfg.Secrets, cfg.Stack)
	if err != nil {
		return nil, err
	}
	r.Rows = readRows(ctx, cfg, names, r.At)

	var runs map[string]lastRun
	if cfg.Metrics != nil {
		ids := make([]string, len(r.Rows))
		for i, one := range r.Rows {
			ids[i] = one.Name
		}
		if runs, err = lastRuns(ctx, cfg.Metrics, cfg.Stack.FunctionName, ids, r.At, window); err != nil {
			r.MetricsErr = err
		}
	}
	for i := range r.Rows {
		r.Rows[i].judge(runs, cfg.Metrics != nil && r.MetricsErr == nil, cfg.Stack.RotationEngine, cfg.Stack.Schedule, r.At)
	}

	if cfg.Alarms != nil {
		r.AlarmsRead = true
		r.Alarms, r.AlarmsErr = alarmsInAlarm(ctx, cfg.Alarms, cfg.Stack.Name, watchedAlarms(cfg.Stack, r.Rows))
	}
	if cfg.Queues != nil && cfg.Stack.DeadLetterQueueURL != "" {
		r.QueueRead = true
		r.QueueDepth, r.QueueErr = queueDepth(ctx, cfg.Queues, cfg.Stack.DeadLetterQueueURL)
	}
	return r, nil
}

func (cfg Config) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"the stack name", cfg.Stack.Name},
		{ops.OutputFunctionName, cfg.Stack.FunctionName},
		{ops.OutputSecretPrefix, cfg.Stack.SecretPrefix},
		{OutputTokenSecret, cfg.Stack.TokenSecretID},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if cfg.Secrets == nil {
		missing = append(missing, "a Secrets Manager client")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the status was not told %s (see Resolve)", strings.Join(missing, ", "))
	}
	return nil
}

// member is one integration to show: its name and token secret.
type member struct{ name, secretID string }

// integrations lists the stack's own integration, then every token secret
// named under the prefix (as the rotator finds them), sorted by name.
func integrations(ctx context.Context, sm SecretsAPI, st Stack) ([]member, error) {
	members := []member{{integration.DefaultName, st.TokenSecretID}}
	in := &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(100),
		Filters:    []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{st.SecretPrefix}}},
	}
	var added []member
	for {
		out, err := sm.ListSecrets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the token secrets named %s*: %w", st.SecretPrefix, err)
		}
		for _, s := range out.SecretList {
			// The name filter matches more loosely than a prefix.
			name, ok := strings.CutPrefix(aws.ToString(s.Name), st.SecretPrefix)
			if ok && name != "" && s.DeletedDate == nil {
				added = append(added, member{name, aws.ToString(s.ARN)})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(added, func(i, j int) bool { return added[i].name < added[j].name })
	return append(members, added...), nil
}

// readRows reads each member's token secret, Config.Concurrency at a time.
func readRows(ctx context.Context, cfg Config, members []member, now time.Time) []row {
	n := cfg.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	rows := make([]row, len(members))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, m := range members {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rows[i] = row{Name: m.name, SecretID: m.secretID, Token: readToken(ctx, cfg.Secrets, m.secretID, now)}
		})
	}
	wg.Wait()
	return rows
}

// watchedAlarms names the stack's alarms: the template's and each added
// integration's stale alarm.
func watchedAlarms(st Stack, rows []row) map[string]bool {
	watched := map[string]bool{}
	for _, name := range st.AlarmNames {
		watched[name] = true
	}
	for _, one := range rows {
		if one.Name != integration.DefaultName {
			watched[ops.AlarmName(st.Name, one.Name)] = true
		}
	}
	return watched
}

// report is what read found.
type report struct {
	// Stack is the stack it read.
	Stack Stack
	// At is when it read it.
	At time.Time
	// Window is how far back it looked for the last runs.
	Window time.Duration
	// Rows has one row per integration: default first, then by name.
	Rows []row
	// MetricsErr is why the last runs could not be read.
	MetricsErr error
	// AlarmsRead says the alarms were read; Alarms are those in ALARM, or
	// AlarmsErr why they could not be read.
	AlarmsRead bool
	Alarms     []alarm
	AlarmsErr  error
	// QueueRead says the dead-letter queue was read; QueueDepth is its
	// ApproximateNumberOfMessages, or QueueErr why it could not be read.
	QueueRead  bool
	QueueDepth int
	QueueErr   error
}

// OK reports whether every token outlives its integration's next run.
func (r *report) OK() bool {
	for _, one := range r.Rows {
		if !one.OK() {
			return false
		}
	}
	return true
}

// row is one integration's line on the screen.
type row struct {
	// Name is the integration's name; SecretID its token secret.
	Name, SecretID string
	// Token is what its token secret holds.
	Token tokenState
	// Last is its last run seen in the metrics, if LastKnown.
	Last      lastRun
	LastKnown bool
	// Next bounds its next run; NoRun says none will come.
	Next  nextRun
	NoRun bool
	// Verdict is the check's outcome.
	Verdict verdict
}

// verdict is the outcome of the check for one integration.
type verdict string

// The verdicts: only verdictOK passes.
const (
	// verdictOK: the token outlives the next run (or, when the next run is
	// unknown, has not expired).
	verdictOK verdict = "ok"
	// verdictExpiresFirst: the token expires before the next run can come.
	verdictExpiresFirst verdict = "EXPIRES FIRST"
	// verdictExpired: the token has expired.
	verdictExpired verdict = "EXPIRED"
	// verdictNoToken: the secret holds no token.
	verdictNoToken verdict = "NO TOKEN"
	// verdictUnreadable: the secret could not be read.
	verdictUnreadable verdict = "UNREADABLE"
	// verdictNoRotation: nothing will rotate the token: the stack's engine
	// is secretsmanager and its secret's rotation is off.
	verdictNoRotation verdict = "NO ROTATION"
)

// OK reports whether the row passes the check.
func (r row) OK() bool { return r.Verdict == verdictOK }

// judge works out the row's next run and verdict. metricsRead says runs
// holds the metrics' answer (a missing name then means no run seen);
// stackEngine is the stack's RotationEngine output.
func (row *row) judge(runs map[string]lastRun, metricsRead bool, stackEngine, schedule string, now time.Time) {
	if metricsRead {
		row.Last, row.LastKnown = runs[row.Name], true
	}
	switch {
	case row.Token.Engine == ops.EngineSecretsManager:
		row.Next = row.Token.Next
	case stackEngine == ops.EngineSecretsManager:
		// The stack has no schedule, and this secret no rotation.
		row.Token.Engine = "none"
		row.Next = nextRun{How: "its secret's rotation is off, and the stack's engine is " + ops.EngineSecretsManager}
		row.NoRun = true
	default:
		row.Next = schedulerNext(schedule, row.Last.end(), now)
	}
	t := row.Token
	switch {
	case t.Err != nil:
		row.Verdict = verdictUnreadable
	case !t.HasToken:
		row.Verdict = verdictNoToken
	case !t.Expiry.After(now):
		row.Verdict = verdictExpired
	case row.NoRun:
		row.Verdict = verdictNoRotation
	case !row.Next.By.IsZero() && !t.Expiry.After(row.Next.By):
		row.Verdict = verdictExpiresFirst
	default:
		row.Verdict = verdictOK
	}
}
