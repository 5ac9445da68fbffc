package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// Sentinels: values in the token secrets that must never reach the screen.
const (
	accessTokenSentinel  = "SENTINEL-ACCESS-TOKEN-5b1e07"
	clientSecretSentinel = "SENTINEL-CLIENT-SECRET-c93d4a"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const (
	testStack    = "tokenrotator"
	testFunction = "tokenrotator-RotatorFunction-x1"
	testPrefix   = "tokenrotator/integrations/"
	testTokenARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokenrotator/token-AbCdEf"
	testQueue    = "https://sqs.eu-west-1.amazonaws.com/123456789012/tokenrotator-DeadLetterQueue-x1"
	stackAlarm   = "tokenrotator-StaleTokenAlarm-Q1W2E3"
)

// tokenJSON is a token secret's value, with sentinels where the token and a
// stray client secret would be.
func tokenJSON(clientID string, issued, expiry time.Time) string {
	b, _ := json.Marshal(map[string]string{
		"access_token": accessTokenSentinel, "token_type": "bearer", "client_id": clientID, "client_secret": clientSecretSentinel,
		"issued_at": issued.Format(time.RFC3339), "expiry": expiry.Format(time.RFC3339), "scope": "openid",
	})
	return string(b)
}

// tokenSecret is a token secret whose AWSCURRENT version v2 holds value and
// whose AWSPREVIOUS version v1 holds an older token.
func tokenSecret(arn, value string) *fakeSecret {
	return &fakeSecret{
		arn:    arn,
		stages: map[string][]string{"v2-" + arn[len(arn)-6:]: {"AWSCURRENT"}, "v1-" + arn[len(arn)-6:]: {"AWSPREVIOUS"}},
		values: map[string]string{"v2-" + arn[len(arn)-6:]: value, "v1-" + arn[len(arn)-6:]: tokenJSON("old", now.Add(-25*time.Hour), now.Add(-time.Hour))},
	}
}

// world is a stack with two fresh integrations, default and acme, each
// rotated an hour ago; cases change it.
type world struct {
	stack   Stack
	secrets *fakeSecrets
	metrics *fakeMetrics
	alarms  *fakeAlarms
	queues  *fakeQueues
}

func newWorld() *world {
	w := &world{
		stack: Stack{
			Stack:         ops.Stack{Name: testStack, FunctionName: testFunction, SecretPrefix: testPrefix},
			TokenSecretID: testTokenARN, DeadLetterQueueURL: testQueue, Schedule: "rate(23 hours)",
			AlarmNames: []string{stackAlarm, "tokenrotator-FunctionErrorsAlarm-R4T5Y6"},
		},
		secrets: &fakeSecrets{pageSize: 1, secrets: map[string]*fakeSecret{
			"tokenrotator/token":              tokenSecret(testTokenARN, tokenJSON("demo-client", now.Add(-time.Hour), now.Add(23*time.Hour))),
			"tokenrotator/integrations/acme":  tokenSecret(acmeARN, tokenJSON("acme-client", now.Add(-time.Hour), now.Add(23*time.Hour))),
			"tokenrotator/credentials":        {arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokenrotator/credentials-Zz9Yy8"},
			"tokenrotator/integrations-other": {arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokenrotator/integrations-other-Xx7Ww6"},
		}},
		metrics: &fakeMetrics{},
		alarms:  &fakeAlarms{},
		queues:  &fakeQueues{depth: "0"},
	}
	w.metrics.run("default", now.Add(-time.Hour), true)
	w.metrics.run("acme", now.Add(-time.Hour), true)
	return w
}

const acmeARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokenrotator/integrations/acme-Ac1Me2"

func (w *world) config() Config {
	return Config{Stack: w.stack, Secrets: w.secrets, Metrics: w.metrics, Alarms: w.alarms, Queues: w.queues, Now: func() time.Time { return now }}
}

func (w *world) setAcme(value string) {
	w.secrets.secrets["tokenrotator/integrations/acme"].values["v2-Ac1Me2"] = value
}

func TestWrite(t *testing.T) {
	accessDenied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform secretsmanager:GetSecretValue"}
	tests := []struct {
		name     string
		change   func(w *world)
		wantOK   bool
		verdicts map[string]verdict
		want     []string // lines or parts of lines the screen must hold
		notWant  []string
	}{{
		name:     "fresh",
		change:   func(*world) {},
		wantOK:   true,
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictOK},
		want: []string{
			"stack tokenrotator at 2026-11-29T12:00:00Z: function tokenrotator-RotatorFunction-x1, schedule rate(23 hours)",
			"INTEGRATION  CLIENT       AGE    EXPIRES IN  NEXT RUN WITHIN  CHECK  LAST RUN (2d00h)     ENGINE     CURRENT VERSION  PREVIOUS VERSION",
			"default      demo-client  1h00m  23h00m      22h01m           ok     succeeded 1h00m ago  scheduler  v2-AbCdEf        v1-AbCdEf",
			"acme         acme-client  1h00m  23h00m      22h01m           ok     succeeded 1h00m ago  scheduler  v2-Ac1Me2        v1-Ac1Me2",
			"\nalarms in ALARM: none\n",
			"\ndead-letter queue: 0 messages\n",
			"\nall 2 tokens outlive the next run\n",
		},
		notWant: []string{"integrations-other", "credentials"},
	}, {
		name: "late in the interval, the last run bounds the next",
		change: func(w *world) {
			w.metrics = &fakeMetrics{}
			w.metrics.run("default", now.Add(-22*time.Hour), true)
			w.metrics.run("acme", now.Add(-22*time.Hour), true)
			w.setAcme(tokenJSON("acme-client", now.Add(-22*time.Hour), now.Add(2*time.Hour)))
		},
		wantOK:   true,
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictOK},
		want:     []string{"acme         acme-client  22h00m  2h00m       1h01m            ok     succeeded 22h00m ago"},
	}, {
		name:     "expiring before the next run",
		change:   func(w *world) { w.setAcme(tokenJSON("acme-client", now.Add(-23*time.Hour), now.Add(30*time.Minute))) },
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictExpiresFirst},
		want: []string{
			"acme         acme-client  23h00m  30m         22h01m           EXPIRES FIRST",
			"\n1 of 2 tokens expires before the next run: acme (expires in 30m, next run within 22h01m)\n",
		},
	}, {
		name: "no run seen: the next run is bounded from now",
		change: func(w *world) {
			w.metrics = &fakeMetrics{}
			w.setAcme(tokenJSON("acme-client", now.Add(-2*time.Hour), now.Add(22*time.Hour)))
		},
		verdicts: map[string]verdict{"acme": verdictExpiresFirst},
		want:     []string{"acme         acme-client  2h00m  22h00m      23h00m           EXPIRES FIRST  none seen"},
	}, {
		name:     "expired",
		change:   func(w *world) { w.setAcme(tokenJSON("acme-client", now.Add(-25*time.Hour), now.Add(-5*time.Minute))) },
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictExpired},
		want: []string{
			"acme         acme-client  25h00m  expired 5m ago  22h01m           EXPIRED",
			"\n1 of 2 tokens expires before the next run: acme (expired 5m ago)\n",
		},
	}, {
		name: "no value yet, and {}",
		change: func(w *world) {
			w.secrets.secrets["tokenrotator/token"] = &fakeSecret{arn: testTokenARN}
			w.setAcme("{}")
		},
		verdicts: map[string]verdict{"default": verdictNoToken, "acme": verdictNoToken},
		want: []string{
			"default      -       -    no value yet       22h01m           NO TOKEN  succeeded 1h00m ago  scheduler  -                -",
			"acme         -       -    no token yet ({})  22h01m           NO TOKEN  succeeded 1h00m ago  scheduler  v2-Ac1Me2        v1-Ac1Me2",
			"\n2 of 2 tokens expire before the next run: default (no value yet), acme (no token yet ({}))\n",
		},
	}, {
		name: "not a token",
		change: func(w *world) {
			w.setAcme(`{"access_token": "` + accessTokenSentinel + `", "expiry": "tomorrow"}`)
		},
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictNoToken},
		want:     []string{"acme (expiry is not RFC 3339)"},
	}, {
		name: "failed last run, token still fresh",
		change: func(w *world) {
			w.metrics.run("acme", now.Add(-5*time.Minute), false)
		},
		wantOK:   true,
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictOK},
		want:     []string{"acme         acme-client  1h00m  23h00m      22h56m           ok     failed 5m ago"},
	}, {
		name: "native engine",
		change: func(w *world) {
			w.secrets.secrets["tokenrotator/integrations/acme"].rotation = &secretsmanager.DescribeSecretOutput{
				RotationEnabled: aws.Bool(true), NextRotationDate: aws.Time(now.Add(30 * time.Hour)),
				RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String("rate(1 day)")},
			}
			w.secrets.secrets["tokenrotator/token"].rotation = &secretsmanager.DescribeSecretOutput{
				RotationEnabled: aws.Bool(true), LastRotatedDate: aws.Time(now.Add(-time.Hour)),
				RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String("rate(20 hours)"), Duration: aws.String("2h")},
			}
		},
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictExpiresFirst},
		want: []string{
			"default      demo-client  1h00m  23h00m      21h00m           ok             succeeded 1h00m ago  secretsmanager",
			"acme         acme-client  1h00m  23h00m      30h00m           EXPIRES FIRST  succeeded 1h00m ago  secretsmanager",
		},
	}, {
		name: "a secretsmanager stack, one secret without rotation",
		change: func(w *world) {
			w.stack.RotationEngine = ops.EngineSecretsManager
			w.secrets.secrets["tokenrotator/token"].rotation = &secretsmanager.DescribeSecretOutput{
				RotationEnabled: aws.Bool(true), NextRotationDate: aws.Time(now.Add(20 * time.Hour)),
			}
		},
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictNoRotation},
		want: []string{
			"stack tokenrotator at 2026-11-29T12:00:00Z: function tokenrotator-RotatorFunction-x1, engine secretsmanager (each token secret's own rotation schedule)\n",
			"default      demo-client  1h00m  23h00m      20h00m           ok           succeeded 1h00m ago  secretsmanager",
			"acme         acme-client  1h00m  23h00m      unknown          NO ROTATION  succeeded 1h00m ago  none ",
			"\n1 of 2 tokens expires before the next run: acme (its secret's rotation is off, and the stack's engine is secretsmanager)\n",
		},
		notWant: []string{"schedule rate"},
	}, {
		name: "alarms in ALARM",
		change: func(w *world) {
			w.alarms.alarms = []cwtypes.MetricAlarm{
				{AlarmName: aws.String(stackAlarm), StateValue: cwtypes.StateValueAlarm, StateUpdatedTimestamp: aws.Time(now.Add(-time.Hour)),
					StateReason: aws.String("Threshold Crossed: 24 out of the last 24 datapoints were less than the threshold (1.0).")},
				{AlarmName: aws.String("tokenrotator-integration-acme-stale"), StateValue: cwtypes.StateValueAlarm, StateUpdatedTimestamp: aws.Time(now.Add(-2 * time.Hour)),
					StateReason: aws.String("Threshold Crossed")},
				{AlarmName: aws.String("tokenrotator-integration-gone-stale"), StateValue: cwtypes.StateValueAlarm},
				{AlarmName: aws.String("tokenrotator-staging-StaleTokenAlarm-A1"), StateValue: cwtypes.StateValueAlarm},
				{AlarmName: aws.String("tokenrotator-FunctionErrorsAlarm-R4T5Y6"), StateValue: cwtypes.StateValueOk},
			}
		},
		wantOK: true,
		want: []string{
			"\nalarms in ALARM: 2\n" +
				"  tokenrotator-StaleTokenAlarm-Q1W2E3  since 2026-11-29T11:00:00Z  Threshold Crossed: 24 out of the last 24 datapoints were less than the threshold (1.0).\n" +
				"  tokenrotator-integration-acme-stale  since 2026-11-29T10:00:00Z  Threshold Crossed\n",
		},
		notWant: []string{"staging", "gone-stale", "FunctionErrorsAlarm"},
	}, {
		name:   "dead-letter queue depth",
		change: func(w *world) { w.queues.depth = "3" },
		wantOK: true,
		want:   []string{"\ndead-letter queue: 3 messages: runs that failed after their retries (aws sqs receive-message --queue-url " + testQueue + ")\n"},
	}, {
		name:     "an unreadable token secret",
		change:   func(w *world) { w.secrets.secrets["tokenrotator/integrations/acme"].getErr = accessDenied },
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictUnreadable},
		want: []string{
			"acme         -            -      ?           22h01m           UNREADABLE",
			"\nacme: cannot read its token secret: reading token secret " + acmeARN + " version v2-Ac1Me2: api error AccessDeniedException: not authorized",
			"\n1 of 2 tokens expires before the next run: acme (cannot read its token secret)\n",
		},
	}, {
		name: "metrics, alarms and queue unreadable",
		change: func(w *world) {
			w.metrics.err = accessDenied
			w.alarms.err = accessDenied
			w.queues.err = accessDenied
		},
		verdicts: map[string]verdict{"default": verdictExpiresFirst, "acme": verdictExpiresFirst},
		want: []string{
			"default      demo-client  1h00m  23h00m      23h00m           EXPIRES FIRST  not read",
			"\nlast runs: cannot read: reading metrics TokenRotator/RotationSucceeded and RotationFailed of function tokenrotator-RotatorFunction-x1: api error AccessDeniedException",
			"\nalarms in ALARM: cannot read: listing the alarms of stack tokenrotator in ALARM: api error AccessDeniedException",
			"\ndead-letter queue: cannot read: reading the depth of the dead-letter queue " + testQueue + ": api error AccessDeniedException",
		},
	}, {
		name:     "a schedule that is not a rate",
		change:   func(w *world) { w.stack.Schedule = "cron(0 3 * * ? *)" },
		wantOK:   true,
		verdicts: map[string]verdict{"default": verdictOK, "acme": verdictOK},
		want: []string{
			"default      demo-client  1h00m  23h00m      unknown          ok",
			"\nall 2 tokens outlive the next run (default, acme only judged against now: the schedule cron(0 3 * * ? *) is not a rate(...))\n",
		},
	}, {
		name: "one integration, expired",
		change: func(w *world) {
			delete(w.secrets.secrets, "tokenrotator/integrations/acme")
			w.secrets.secrets["tokenrotator/token"].values["v2-AbCdEf"] = tokenJSON("demo-client", now.Add(-25*time.Hour), now.Add(-5*time.Minute))
		},
		want: []string{"\n1 of 1 token expires before the next run: default (expired 5m ago)\n"},
	}, {
		name:   "one integration, fresh",
		change: func(w *world) { delete(w.secrets.secrets, "tokenrotator/integrations/acme") },
		wantOK: true,
		want:   []string{"\nthe 1 token outlives the next run\n"},
	}, {
		name: "no dead-letter queue output, a deleted secret under the prefix",
		change: func(w *world) {
			w.stack.DeadLetterQueueURL = ""
			w.secrets.secrets["tokenrotator/integrations/old"] = &fakeSecret{arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokenrotator/integrations/old-Ol1Dd2", deleted: true}
		},
		wantOK:  true,
		want:    []string{"\ndead-letter queue: unknown (the stack has no output DeadLetterQueueUrl)\n"},
		notWant: []string{"old "},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			tt.change(w)
			r, err := read(context.Background(), w.config())
			if err != nil {
				t.Fatalf("read() error = %v", err)
			}
			for _, one := range r.Rows {
				if want, ok := tt.verdicts[one.Name]; ok && one.Verdict != want {
					t.Errorf("%s: verdict = %q, want %q", one.Name, one.Verdict, want)
				}
			}
			var buf bytes.Buffer
			ok, err := Write(context.Background(), &buf, w.config())
			screen := buf.String()
			if err != nil || ok != tt.wantOK {
				t.Errorf("Write() = %v, %v; want %v, nil\n%s", ok, err, tt.wantOK, screen)
			}
			for _, want := range tt.want {
				if !strings.Contains(screen, want) {
					t.Errorf("screen lacks %q:\n%s", want, screen)
				}
			}
			for _, bad := range append(tt.notWant, accessTokenSentinel, clientSecretSentinel) {
				if strings.Contains(screen, bad) {
					t.Errorf("screen holds %q:\n%s", bad, screen)
				}
			}
			lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "outlive") && !strings.Contains(last, "before the next run") {
				t.Errorf("last line = %q, want the verdict", last)
			}
		})
	}
}

func TestWriteCannotList(t *testing.T) {
	w := newWorld()
	w.secrets.listErr = errors.New("throttled")
	var buf bytes.Buffer
	ok, err := Write(context.Background(), &buf, w.config())
	if ok || err == nil || !strings.Contains(err.Error(), "listing the token secrets named tokenrotator/integrations/*: throttled") {
		t.Errorf("Write() = %v, %v; want false and the listing's error", ok, err)
	}
	if buf.Len() != 0 {
		t.Errorf("Write() printed %q, want nothing", buf.String())
	}
}

func TestWriteNeedsTheStack(t *testing.T) {
	_, err := Write(context.Background(), &bytes.Buffer{}, Config{Stack: Stack{Stack: ops.Stack{Name: "s"}}})
	want := "the status was not told RotatorFunctionName, IntegrationSecretPrefix, TokenSecretArn, a Secrets Manager client (see Resolve)"
	if err == nil || err.Error() != want {
		t.Errorf("Write() error = %v, want %q", err, want)
	}
}

// TestLastRunsBatches checks that 600 integrations take four GetMetricData
// calls of at most 500 queries (three per integration), each integration
// asked for by FunctionName and Integration.
func TestLastRunsBatches(t *testing.T) {
	m := &fakeMetrics{}
	var names []string
	for i := range 600 {
		names = append(names, "i"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+time.Duration(i).String())
	}
	m.run(names[599], now.Add(-3*time.Minute), false)
	m.run(names[599], now.Add(-3*time.Minute), true)
	runs, err := lastRuns(context.Background(), m, testFunction, names, now, DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.inputs) != 4 || len(m.inputs[0].MetricDataQueries) != 498 || len(m.inputs[3].MetricDataQueries) != 306 {
		t.Errorf("GetMetricData calls: %d, want 4 of 498, 498, 498 and 306 queries", len(m.inputs))
	}
	if q := m.inputs[0].MetricDataQueries[2].MetricStat; aws.ToString(q.Metric.MetricName) != MetricClientSecretDaysLeft || aws.ToString(q.Stat) != "Minimum" {
		t.Errorf("third query = %+v, want the Minimum per minute of %s", q, MetricClientSecretDaysLeft)
	}
	q := m.inputs[0].MetricDataQueries[1].MetricStat
	if aws.ToString(q.Metric.MetricName) != "RotationFailed" || aws.ToString(q.Stat) != "Sum" || aws.ToInt32(q.Period) != 60 ||
		len(q.Metric.Dimensions) != 2 || aws.ToString(q.Metric.Dimensions[0].Value) != testFunction || aws.ToString(q.Metric.Dimensions[1].Value) != names[0] {
		t.Errorf("second query = %+v, want the Sum per minute of RotationFailed for FunctionName %s, Integration %s", q, testFunction, names[0])
	}
	if got := m.inputs[0].StartTime; !got.Equal(now.Add(-DefaultWindow)) {
		t.Errorf("StartTime = %v, want %v", got, now.Add(-DefaultWindow))
	}
	last := runs[names[599]]
	if !last.At.Equal(now.Add(-3*time.Minute)) || last.Succeeded != 1 || last.Failed != 1 {
		t.Errorf("last run of %s = %+v, want 1 succeeded and 1 failed at %v", names[599], last, now.Add(-3*time.Minute))
	}
	if one := (row{Name: "x", Last: last, LastKnown: true}); lastRunText(one, now) != "failed+succeeded 3m ago" {
		t.Errorf("lastRunText = %q, want failed+succeeded 2m ago", lastRunText(one, now))
	}
	if !runs[names[0]].At.IsZero() {
		t.Errorf("last run of %s = %+v, want none", names[0], runs[names[0]])
	}
}
