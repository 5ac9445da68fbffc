// Package metrics writes the rotator's CloudWatch metrics as Embedded Metric
// Format (EMF) lines, written to the function's standard output, which
// Lambda sends to CloudWatch Logs, where CloudWatch turns them into metrics.
// No API call, no permission, no extra latency.
//
//	m := metrics.Emitter{W: os.Stdout, FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}
//	m.Integration("acme", metrics.Outcome{Rotated: true, TTL: ttl, TokenRequest: d}) // one line per integration
//	m.Run(metrics.Summary{Integrations: 3, Rotated: 1, Failed: 1, MinTTL: ttl})     // one line per run
//	m.ClientSecretExpiry("acme", expiresAt) // when the credentials say when the client secret expires
//
// A run line carries dimension [DimensionFunctionName]; an integration's line
// carries [DimensionFunctionName] and [DimensionIntegration]. The stale-token
// alarm in template.yaml watches the run's [RotationSucceeded], which is 1
// only when every integration was left with a fresh token; each added
// integration's own alarm watches its [RotationSucceeded]. The names here and
// in the template are checked against each other by
// functions/internal/templatecheck.
package metrics

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"time"
)

// The namespace, dimension and metric names, as the alarms in template.yaml
// name them.
const (
	// Namespace is the CloudWatch namespace of every metric.
	Namespace = "TokenRotator"
	// DimensionFunctionName is valued with the function's name, on every line.
	DimensionFunctionName = "FunctionName"
	// DimensionIntegration is valued with the integration's name, on the
	// lines of one integration's outcome.
	DimensionIntegration = "Integration"

	// RotationSucceeded is 1 for an outcome that left a fresh token (rotated
	// or not) and 0 for a failed one; on a run line, 1 when every
	// integration did. Its sum over a day is the number of good runs.
	RotationSucceeded = "RotationSucceeded"
	// RotationFailed is 1 for a failed outcome, or a run with any, and 0
	// otherwise.
	RotationFailed = "RotationFailed"
	// TokenSecondsToExpiry is how long the stored token has left after a
	// good outcome; on a run line, the least of the run's good outcomes.
	TokenSecondsToExpiry = "TokenSecondsToExpiry"
	// TokenRequestLatency is the time the token request took, retries
	// included, in milliseconds; only sent for outcomes that requested a
	// token, and on a run line the longest of them.
	TokenRequestLatency = "TokenRequestLatency"
	// IntegrationsFailed, on a run line, counts the failed integrations.
	IntegrationsFailed = "IntegrationsFailed"
	// TokenRequestRetries is how many times a token request was retried
	// (attempts less one), sent whenever a token was requested, rotated or
	// failed; on a run line, the sum over its integrations.
	TokenRequestRetries = "TokenRequestRetries"
	// ClientSecretDaysLeft is how many whole days the integration's client
	// secret has left (client_secret_expires_at in its credentials secret),
	// rounded down, negative once it has expired; only sent for an
	// integration whose credentials say when. ClientSecretExpiryAlarm
	// watches its minimum.
	ClientSecretDaysLeft = "ClientSecretDaysLeft"
)

// CloudWatch units of the metrics above.
const (
	UnitCount        = "Count"
	UnitSeconds      = "Seconds"
	UnitMilliseconds = "Milliseconds"
	UnitNone         = "None"
)

// Emitter writes one EMF line per call. Its methods never fail a run: a write
// error is dropped, as a lost metric line must not turn a good rotation into a
// failed one (the stale-token alarm still fires if lines keep getting lost).
// An Emitter is safe for concurrent use when W is: each line is one Write.
type Emitter struct {
	// W receives the lines; nil means os.Stdout.
	W io.Writer
	// FunctionName is the value of the FunctionName dimension, the
	// AWS_LAMBDA_FUNCTION_NAME the caller read from its environment. Empty
	// means no such dimension: the metrics are then recorded without it,
	// and the alarms, which filter on FunctionName, do not see them.
	FunctionName string
	// Now stamps each line; nil means time.Now.
	Now func() time.Time
}

// Outcome is what one run did for one integration.
type Outcome struct {
	// Failed says the integration was left without a new token and with an
	// error; the other fields are then ignored.
	Failed bool
	// Rotated says a new token was requested and stored.
	Rotated bool
	// TTL is how long the stored token has left; a negative TTL counts as zero.
	TTL time.Duration
	// TokenRequest is how long the token request took, when Rotated; zero
	// when the token was requested elsewhere (the rotation protocol's
	// createSecret records it with TokenRequest), and then not sent.
	TokenRequest time.Duration
	// Attempts is how many token requests were sent, retries included;
	// zero when none was (the stored token was fresh, or the run failed
	// before asking). TokenRequestRetries is Attempts less one.
	Attempts int
}

// Summary is what one run did for all its integrations.
type Summary struct {
	// Integrations, Rotated and Failed count the run's integrations, those
	// that got a new token and those that failed.
	Integrations, Rotated, Failed int
	// MinTTL is the least time left on a good integration's token; ignored
	// when every integration failed.
	MinTTL time.Duration
	// MaxTokenRequest is the longest token request; ignored when Rotated is 0.
	MaxTokenRequest time.Duration
	// Attempts counts the token requests sent for all integrations, and
	// Requested the integrations that sent any: TokenRequestRetries is
	// Attempts less Requested, sent when Requested is not 0.
	Attempts, Requested int
}

// Integration records one integration's outcome, with dimensions
// FunctionName and Integration.
func (e Emitter) Integration(name string, o Outcome) {
	values, units := outcome(!o.Failed, o.Rotated, o.TTL, o.TokenRequest)
	if o.Attempts > 0 {
		values[TokenRequestRetries] = o.Attempts - 1
		units = append(units, metric{TokenRequestRetries, UnitCount})
	}
	values[DimensionIntegration] = name
	e.write(values, units, DimensionIntegration)
}

// TokenRequest records a token request on its own, its latency and its
// retries (attempts less one), with dimensions FunctionName and
// Integration: the rotation protocol's createSecret requests the token, and
// the outcome (Integration) comes with finishSecret, steps later.
func (e Emitter) TokenRequest(name string, d time.Duration, attempts int) {
	e.write(map[string]any{TokenRequestLatency: float64(d.Microseconds()) / 1000, TokenRequestRetries: max(attempts-1, 0), DimensionIntegration: name},
		[]metric{{TokenRequestLatency, UnitMilliseconds}, {TokenRequestRetries, UnitCount}}, DimensionIntegration)
}

// ClientSecretExpiry records how many days the client secret of integration
// name has left before expiresAt, twice on one line: with dimensions
// FunctionName and Integration, and with FunctionName alone, whose minimum
// ClientSecretExpiryAlarm watches. One line per token run or createSecret
// that read credentials saying when their secret expires, whatever the
// run's outcome (a secret that expired is why a run fails).
func (e Emitter) ClientSecretExpiry(name string, expiresAt time.Time) {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	days := math.Floor(expiresAt.Sub(now()).Hours() / 24)
	e.writeSets(map[string]any{ClientSecretDaysLeft: days, DimensionIntegration: name},
		[]metric{{ClientSecretDaysLeft, UnitNone}}, []string{DimensionIntegration}, nil)
}

// Run records a run, with dimension FunctionName: a success when no
// integration failed, with the least time left and the longest token
// request among its integrations.
func (e Emitter) Run(s Summary) {
	values, units := outcome(s.Failed == 0, s.Rotated > 0, s.MinTTL, s.MaxTokenRequest)
	if s.Failed > 0 && s.Failed < s.Integrations {
		// Some integrations were left fresh: keep their least time left
		// and their longest request.
		values[TokenSecondsToExpiry] = math.Round(max(s.MinTTL, 0).Seconds())
		units = append(units, metric{TokenSecondsToExpiry, UnitSeconds})
		if s.Rotated > 0 {
			values[TokenRequestLatency] = float64(s.MaxTokenRequest.Microseconds()) / 1000
			units = append(units, metric{TokenRequestLatency, UnitMilliseconds})
		}
	}
	values[IntegrationsFailed] = s.Failed
	units = append(units, metric{IntegrationsFailed, UnitCount})
	if s.Requested > 0 {
		values[TokenRequestRetries] = max(s.Attempts-s.Requested, 0)
		units = append(units, metric{TokenRequestRetries, UnitCount})
	}
	e.write(values, units)
}

// outcome builds the values shared by both kinds of line.
func outcome(ok, rotated bool, ttl, tokenRequest time.Duration) (map[string]any, []metric) {
	if !ok {
		return map[string]any{RotationSucceeded: 0, RotationFailed: 1},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}}
	}
	values := map[string]any{
		RotationSucceeded:    1,
		RotationFailed:       0,
		TokenSecondsToExpiry: math.Round(max(ttl, 0).Seconds()),
		"Rotated":            rotated,
	}
	units := []metric{
		{RotationSucceeded, UnitCount},
		{RotationFailed, UnitCount},
		{TokenSecondsToExpiry, UnitSeconds},
	}
	if rotated && tokenRequest > 0 {
		values[TokenRequestLatency] = float64(tokenRequest.Microseconds()) / 1000
		units = append(units, metric{TokenRequestLatency, UnitMilliseconds})
	}
	return values, units
}

// metric is one entry of the EMF Metrics list.
type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// write builds the EMF object: the metric values and the dimension as
// top-level members, the metadata under "_aws".
func (e Emitter) write(values map[string]any, metrics []metric, extraDims ...string) {
	e.writeSets(values, metrics, extraDims)
}

// writeSets is write with one dimension set per element of extraDims,
// each after FunctionName: CloudWatch records each metric once per set.
func (e Emitter) writeSets(values map[string]any, metrics []metric, extraDims ...[]string) {
	w, now := e.W, e.Now
	if w == nil {
		w = os.Stdout
	}
	if now == nil {
		now = time.Now
	}
	sets := [][]string{}
	for _, extra := range extraDims {
		dims := []string{}
		if e.FunctionName != "" {
			dims = append(dims, DimensionFunctionName)
			values[DimensionFunctionName] = e.FunctionName
		}
		sets = append(sets, append(dims, extra...))
	}
	values["_aws"] = map[string]any{
		"Timestamp": now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": sets,
			"Metrics":    metrics,
		}},
	}
	line, err := json.Marshal(values)
	if err != nil {
		return // cannot happen: only strings, numbers and bools
	}
	_, _ = w.Write(append(line, '\n'))
}
