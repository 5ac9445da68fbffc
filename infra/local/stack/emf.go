package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/tokenrotator/tokenrotator/infra/local/rie"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// In AWS, Lambda sends the function's standard output to CloudWatch Logs,
// which turns its Embedded Metric Format lines into metrics. Locally nothing
// does, so the stack does it: a metricForwarder reads the output of the
// function's emulator (Stack.Lambda; not that of StartEmulator's) and sends
// each EMF line to moto_server with PutMetricData, so that make status shows
// the last runs.

// metricPutter is the part of *cloudwatch.Client a metricForwarder calls.
type metricPutter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// metricForwarder is an io.Writer over the emulator's output that sends
// each complete EMF line on with PutMetricData, as it comes. It counts the
// emulator's START and REPORT lines, so that Sync can wait for the lines of
// every invocation that has begun. Writes are serialised by the caller
// (syncbuf.Buffer); Sync may run beside them.
type metricForwarder struct {
	cw metricPutter

	mu       sync.Mutex
	partial  []byte
	starts   int // START RequestId lines seen
	reports  int // REPORT RequestId lines seen
	sent     int // PutMetricData calls that succeeded
	failures []error
}

// forwardMetrics returns cfg with its output also going to a new
// metricForwarder to moto_server, which st keeps for Sync.
func (st *Stack) forwardMetrics(cfg rie.Config) rie.Config {
	awsCfg := st.Moto.AWSConfig()
	st.metrics = &metricForwarder{cw: cloudwatch.NewFromConfig(awsCfg, ops.CloudWatchOptions(awsCfg))}
	if cfg.Output != nil {
		cfg.Output = io.MultiWriter(cfg.Output, st.metrics)
	} else {
		cfg.Output = st.metrics
	}
	return cfg
}

// Write splits p into lines and handles each complete one. It never fails:
// a line that cannot be sent is recorded for Sync.
func (f *metricForwarder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		f.line(bytes.TrimSpace(f.partial[:i]))
		f.partial = f.partial[i+1:]
	}
	f.partial = bytes.Clone(f.partial)
	return len(p), nil
}

// line counts the emulator's START and REPORT lines and forwards EMF ones.
func (f *metricForwarder) line(b []byte) {
	switch {
	case bytes.HasPrefix(b, []byte("START RequestId:")):
		f.starts++
	case bytes.HasPrefix(b, []byte("REPORT RequestId:")):
		f.reports++
	case bytes.HasPrefix(b, []byte("{")) && bytes.Contains(b, []byte(`"_aws"`)):
		inputs, err := emfToPut(b)
		if err != nil {
			f.failures = append(f.failures, err)
			return
		}
		for _, in := range inputs {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := f.cw.PutMetricData(ctx, in)
			cancel()
			if err != nil {
				f.failures = append(f.failures, fmt.Errorf("putting metrics of namespace %s: %w", aws.ToString(in.Namespace), err))
				continue
			}
			f.sent++
		}
	}
}

// Sync waits until every invocation whose START line the emulator printed
// has printed its REPORT line too: by then the function's EMF lines, which
// come before it in the same output, have been sent. It returns an error
// when a line could not be sent, or ctx ends first.
func (f *metricForwarder) Sync(ctx context.Context) error {
	for {
		f.mu.Lock()
		starts, reports, failures := f.starts, f.reports, errors.Join(f.failures...)
		f.mu.Unlock()
		if failures != nil {
			return fmt.Errorf("forwarding the function's metric lines to moto_server: %w", failures)
		}
		if reports >= starts {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the function's metric lines: %d of %d invocations reported: %w", reports, starts, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// emfLine is the part of an EMF object that says what its metrics are.
type emfLine struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

// emfToPut turns one EMF line into PutMetricData inputs, one per directive
// (namespace): for each metric and each dimension set, a datum with the
// member's value (a number, or an array of numbers), its unit, the line's
// timestamp and the dimensions' values, as CloudWatch Logs would make it.
func emfToPut(line []byte) ([]*cloudwatch.PutMetricDataInput, error) {
	var head emfLine
	var members map[string]json.RawMessage
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, fmt.Errorf("an EMF line is not JSON: %w", err)
	}
	if err := json.Unmarshal(line, &members); err != nil {
		return nil, fmt.Errorf("an EMF line is not a JSON object: %w", err)
	}
	ts := time.UnixMilli(head.AWS.Timestamp)
	var inputs []*cloudwatch.PutMetricDataInput
	for _, d := range head.AWS.CloudWatchMetrics {
		in := &cloudwatch.PutMetricDataInput{Namespace: aws.String(d.Namespace)}
		sets := d.Dimensions
		if len(sets) == 0 {
			sets = [][]string{nil}
		}
		for _, m := range d.Metrics {
			values, ok := numbers(members[m.Name])
			if !ok {
				continue
			}
			for _, set := range sets {
				datum := cwtypes.MetricDatum{MetricName: aws.String(m.Name), Timestamp: aws.Time(ts)}
				if len(values) == 1 {
					datum.Value = aws.Float64(values[0])
				} else {
					datum.Values = values
				}
				if m.Unit != "" {
					datum.Unit = cwtypes.StandardUnit(m.Unit)
				}
				for _, name := range set {
					var v string
					if err := json.Unmarshal(members[name], &v); err != nil {
						return nil, fmt.Errorf("an EMF line's dimension %s is not a string", name)
					}
					datum.Dimensions = append(datum.Dimensions, cwtypes.Dimension{Name: aws.String(name), Value: aws.String(v)})
				}
				in.MetricData = append(in.MetricData, datum)
			}
		}
		if len(in.MetricData) > 0 {
			inputs = append(inputs, in)
		}
	}
	return inputs, nil
}

// numbers reads a metric's value: a number or an array of numbers.
func numbers(raw json.RawMessage) ([]float64, bool) {
	if raw == nil || string(raw) == "null" {
		return nil, false
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, true
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err == nil && len(many) > 0 {
		return many, true
	}
	return nil, false
}
