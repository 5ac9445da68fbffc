package stack

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// fakePutter records PutMetricData inputs.
type fakePutter struct {
	mu  sync.Mutex
	ins []*cloudwatch.PutMetricDataInput
	err error
}

func (f *fakePutter) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.ins = append(f.ins, in)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

// An integration's line and a run's line, as the bootstrap prints them.
const (
	integrationLine = `{"FunctionName":"tokenrotator","Integration":"default","Rotated":true,"RotationFailed":0,"RotationSucceeded":1,"TokenRequestLatency":3,"TokenSecondsToExpiry":86399,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["FunctionName","Integration"]],"Metrics":[{"Name":"RotationSucceeded","Unit":"Count"},{"Name":"RotationFailed","Unit":"Count"},{"Name":"TokenSecondsToExpiry","Unit":"Seconds"},{"Name":"TokenRequestLatency","Unit":"Milliseconds"}],"Namespace":"TokenRotator"}],"Timestamp":1795933346289}}`
	runLine         = `{"FunctionName":"tokenrotator","IntegrationsFailed":0,"Rotated":true,"RotationFailed":0,"RotationSucceeded":1,"TokenSecondsToExpiry":86399,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["FunctionName"]],"Metrics":[{"Name":"RotationSucceeded","Unit":"Count"},{"Name":"RotationFailed","Unit":"Count"},{"Name":"TokenSecondsToExpiry","Unit":"Seconds"},{"Name":"IntegrationsFailed","Unit":"Count"}],"Namespace":"TokenRotator"}],"Timestamp":1795933346290}}`
)

func TestEMFToPut(t *testing.T) {
	ins, err := emfToPut([]byte(integrationLine))
	if err != nil || len(ins) != 1 {
		t.Fatalf("emfToPut() = %d inputs, %v; want 1", len(ins), err)
	}
	in := ins[0]
	if aws.ToString(in.Namespace) != "TokenRotator" || len(in.MetricData) != 4 {
		t.Fatalf("input: namespace %q, %d data; want TokenRotator, 4", aws.ToString(in.Namespace), len(in.MetricData))
	}
	d := in.MetricData[1]
	if aws.ToString(d.MetricName) != "RotationFailed" || aws.ToFloat64(d.Value) != 0 || d.Unit != "Count" ||
		!aws.ToTime(d.Timestamp).Equal(time.UnixMilli(1795933346289)) || len(d.Dimensions) != 2 ||
		aws.ToString(d.Dimensions[0].Value) != "tokenrotator" || aws.ToString(d.Dimensions[1].Name) != "Integration" || aws.ToString(d.Dimensions[1].Value) != "default" {
		t.Errorf("second datum = %+v, want RotationFailed 0 Count at the line's time, FunctionName tokenrotator, Integration default", d)
	}
	if aws.ToFloat64(in.MetricData[3].Value) != 3 {
		t.Errorf("TokenRequestLatency = %v, want 3", aws.ToFloat64(in.MetricData[3].Value))
	}

	// Two dimension sets, an array value, a missing and a non-numeric metric.
	ins, err = emfToPut([]byte(`{"A":"a","B":"b","M":[1,2],"S":"x","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["A"],["A","B"]],"Metrics":[{"Name":"M"},{"Name":"S"},{"Name":"Gone"}]}]}}`))
	if err != nil || len(ins) != 1 || len(ins[0].MetricData) != 2 || len(ins[0].MetricData[1].Dimensions) != 2 || len(ins[0].MetricData[0].Values) != 2 {
		t.Errorf("emfToPut(two sets) = %+v, %v; want M twice, with values [1 2]", ins, err)
	}
	if _, err := emfToPut([]byte(`{"_aws": `)); err == nil {
		t.Errorf("emfToPut(broken) error = nil, want one")
	}
}

func TestMetricForwarder(t *testing.T) {
	put := &fakePutter{}
	f := &metricForwarder{cw: put}
	out := "START RequestId: 1 Version: $LATEST\n" +
		`{"timestamp":"2026-11-29T06:22:26Z","level":"INFO","message":"token fetched"}` + "\n" +
		integrationLine + "\n" + runLine + "\nEND RequestId: 1\n"
	// The output arrives in pieces that split lines.
	for len(out) > 0 {
		n := min(37, len(out))
		if _, err := f.Write([]byte(out[:n])); err != nil {
			t.Fatal(err)
		}
		out = out[n:]
	}
	if len(put.ins) != 2 {
		t.Errorf("PutMetricData calls = %d, want 2 (one per EMF line)", len(put.ins))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.Sync(ctx); err == nil || !strings.Contains(err.Error(), "0 of 1 invocations reported") {
		t.Errorf("Sync() before REPORT = %v, want it to time out", err)
	}
	f.Write([]byte("REPORT RequestId: 1\tDuration: 75.96 ms\n"))
	if err := f.Sync(context.Background()); err != nil {
		t.Errorf("Sync() after REPORT = %v, want nil", err)
	}

	put.err = errors.New("connection refused")
	f.Write([]byte(integrationLine + "\n"))
	if err := f.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "putting metrics of namespace TokenRotator: connection refused") {
		t.Errorf("Sync() after a failed put = %v, want the failure", err)
	}
}
