// Package metrics writes the rotator's CloudWatch metrics as Embedded Metric
// Format (EMF) lines: one JSON object per run, written to the function's
// standard output, which Lambda sends to CloudWatch Logs, where CloudWatch
// turns it into metrics. No API call, no permission, no extra latency.
//
//	m := metrics.Emitter{W: os.Stdout, FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}
//	m.Success(time.Until(expiry), tokenRequest, rotated) // after a run that left a fresh token
//	m.Failure()                                          // after a run that failed
//
// Every line carries namespace [Namespace] and dimension [DimensionFunctionName].
// The stale-token alarm in template.yaml watches [RotationSucceeded]; the
// names here and there are checked against each other by functions/internal/templatecheck.
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
	// DimensionFunctionName is the one dimension, valued with the function's name.
	DimensionFunctionName = "FunctionName"

	// RotationSucceeded is 1 for a run that left a fresh token (rotated or not)
	// and 0 for a failed one: its sum over a day is the number of good runs.
	RotationSucceeded = "RotationSucceeded"
	// RotationFailed is 1 for a failed run and 0 for a good one.
	RotationFailed = "RotationFailed"
	// TokenSecondsToExpiry is how long the stored token has left after a good run.
	TokenSecondsToExpiry = "TokenSecondsToExpiry"
	// TokenRequestLatency is the time the token request took, retries included,
	// in milliseconds; only sent by runs that requested a token.
	TokenRequestLatency = "TokenRequestLatency"
)

// CloudWatch units of the metrics above.
const (
	UnitCount        = "Count"
	UnitSeconds      = "Seconds"
	UnitMilliseconds = "Milliseconds"
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
	// means no dimension: the metrics are then recorded without one, and the
	// alarms, which filter on FunctionName, do not see them.
	FunctionName string
	// Now stamps each line; nil means time.Now.
	Now func() time.Time
}

// Success records a run that left a fresh token: ttl is how long the stored
// token has left, tokenRequest how long its request took, and rotated whether
// a new token was requested and stored. The latency is sent only when rotated
// is true; a negative ttl counts as zero.
func (e Emitter) Success(ttl, tokenRequest time.Duration, rotated bool) {
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
	if rotated {
		values[TokenRequestLatency] = float64(tokenRequest.Microseconds()) / 1000
		units = append(units, metric{TokenRequestLatency, UnitMilliseconds})
	}
	e.write(values, units)
}

// Failure records a failed run.
func (e Emitter) Failure() {
	e.write(map[string]any{RotationSucceeded: 0, RotationFailed: 1},
		[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}})
}

// metric is one entry of the EMF Metrics list.
type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// write builds the EMF object: the metric values and the dimension as
// top-level members, the metadata under "_aws".
func (e Emitter) write(values map[string]any, metrics []metric) {
	w, now := e.W, e.Now
	if w == nil {
		w = os.Stdout
	}
	if now == nil {
		now = time.Now
	}
	dims := []string{}
	if e.FunctionName != "" {
		dims = append(dims, DimensionFunctionName)
		values[DimensionFunctionName] = e.FunctionName
	}
	values["_aws"] = map[string]any{
		"Timestamp": now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{dims},
			"Metrics":    metrics,
		}},
	}
	line, err := json.Marshal(values)
	if err != nil {
		return // cannot happen: only strings, numbers and bools
	}
	_, _ = w.Write(append(line, '\n'))
}
