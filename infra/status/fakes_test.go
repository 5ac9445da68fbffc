package status

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// fakeSecret is one secret of fakeSecrets.
type fakeSecret struct {
	arn     string
	stages  map[string][]string // version id -> stages
	values  map[string]string   // version id -> SecretString
	getErr  error
	descErr error
	// rotation, when not nil, is copied into DescribeSecret's answer.
	rotation *secretsmanager.DescribeSecretOutput
	deleted  bool
}

// fakeSecrets is Secrets Manager holding secrets by name; ListSecrets
// answers pageSize names per page.
type fakeSecrets struct {
	mu       sync.Mutex
	secrets  map[string]*fakeSecret
	pageSize int
	listErr  error
	calls    []string
}

func (f *fakeSecrets) record(op string) {
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
}

func (f *fakeSecrets) find(id string) (string, *fakeSecret) {
	for name, s := range f.secrets {
		if id == name || id == s.arn {
			return name, s
		}
	}
	return "", nil
}

func (f *fakeSecrets) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	f.record("ListSecrets")
	if f.listErr != nil {
		return nil, f.listErr
	}
	prefix := in.Filters[0].Values[0]
	var names []string
	for name := range f.secrets {
		// As Secrets Manager's name filter: looser than a prefix.
		if strings.Contains(strings.ToLower(name), strings.ToLower(strings.TrimSuffix(prefix, "/"))) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	size := f.pageSize
	if size == 0 {
		size = 100
	}
	out := &secretsmanager.ListSecretsOutput{}
	for _, name := range names[start:min(start+size, len(names))] {
		e := smtypes.SecretListEntry{Name: aws.String(name), ARN: aws.String(f.secrets[name].arn)}
		if f.secrets[name].deleted {
			e.DeletedDate = aws.Time(time.Unix(1, 0))
		}
		out.SecretList = append(out.SecretList, e)
	}
	if start+size < len(names) {
		out.NextToken = aws.String(fmt.Sprint(start + size))
	}
	return out, nil
}

func (f *fakeSecrets) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.record("DescribeSecret")
	name, s := f.find(aws.ToString(in.SecretId))
	if s == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	if s.descErr != nil {
		return nil, s.descErr
	}
	out := &secretsmanager.DescribeSecretOutput{}
	if s.rotation != nil {
		*out = *s.rotation
	}
	out.Name, out.ARN, out.VersionIdsToStages = aws.String(name), aws.String(s.arn), s.stages
	return out, nil
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.record("GetSecretValue")
	_, s := f.find(aws.ToString(in.SecretId))
	if s == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	if s.getErr != nil {
		return nil, s.getErr
	}
	v, ok := s.values[aws.ToString(in.VersionId)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for VersionId")}
	}
	return &secretsmanager.GetSecretValueOutput{ARN: aws.String(s.arn), VersionId: in.VersionId, SecretString: aws.String(v)}, nil
}

// fakeMetrics answers GetMetricData from points: integration -> metric ->
// timestamp -> value, one page per call of at most pageSize queries' results.
type fakeMetrics struct {
	points map[string]map[string]map[time.Time]float64
	err    error
	inputs []*cloudwatch.GetMetricDataInput
}

func (f *fakeMetrics) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		var integration string
		for _, d := range q.MetricStat.Metric.Dimensions {
			if aws.ToString(d.Name) == "Integration" {
				integration = aws.ToString(d.Value)
			}
		}
		r := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
		for ts, v := range f.points[integration][aws.ToString(q.MetricStat.Metric.MetricName)] {
			if !ts.Before(*in.StartTime) && ts.Before(*in.EndTime) {
				r.Timestamps = append(r.Timestamps, ts)
				r.Values = append(r.Values, v)
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

// run records one run of integration at minute at: succeeded or failed.
func (f *fakeMetrics) run(integration string, at time.Time, ok bool) {
	if f.points == nil {
		f.points = map[string]map[string]map[time.Time]float64{}
	}
	if f.points[integration] == nil {
		f.points[integration] = map[string]map[time.Time]float64{"RotationSucceeded": {}, "RotationFailed": {}}
	}
	at = at.Truncate(time.Minute)
	s, fl := 0.0, 1.0
	if ok {
		s, fl = 1, 0
	}
	f.points[integration]["RotationSucceeded"][at] += s
	f.points[integration]["RotationFailed"][at] += fl
}

// fakeAlarms answers DescribeAlarms with the alarms in alarms whose names
// start with the prefix and whose state is asked for.
type fakeAlarms struct {
	alarms []cwtypes.MetricAlarm
	err    error
}

func (f *fakeAlarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, a := range f.alarms {
		// As moto_server: StateValue is ignored beside AlarmNamePrefix.
		if strings.HasPrefix(aws.ToString(a.AlarmName), aws.ToString(in.AlarmNamePrefix)) {
			out.MetricAlarms = append(out.MetricAlarms, a)
		}
	}
	return out, nil
}

// fakeQueues answers GetQueueAttributes with depth.
type fakeQueues struct {
	depth string
	err   error
}

func (f *fakeQueues) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"ApproximateNumberOfMessages": f.depth}}, nil
}
