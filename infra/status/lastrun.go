package status

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// MetricsAPI is the part of *cloudwatch.Client that reads the last runs.
type MetricsAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// MetricClientSecretDaysLeft is the metric in which each run reports the
// days left on its integration's client secret, when its credentials say
// when it expires (functions/internal/metrics.ClientSecretDaysLeft;
// functions/internal/templatecheck holds the two equal).
const MetricClientSecretDaysLeft = "ClientSecretDaysLeft"

// metricPeriod is the resolution of the last run's time: the rotator's
// metrics are standard resolution, one datapoint per minute.
const metricPeriod = time.Minute

// maxQueries is the most queries one GetMetricData call takes.
const maxQueries = 500

// lastRun is the last run of one integration seen in the metrics.
type lastRun struct {
	// At is the start of the minute it ran in; zero when no run was seen.
	At time.Time
	// Succeeded and Failed count the runs in that minute that left it with
	// a fresh token, and those that failed.
	Succeeded, Failed float64
	// SecretDays is the days left on the client secret at the latest report
	// in the window, SecretDaysAt that report's minute; zero when none was
	// seen (the credentials say nothing of an expiry).
	SecretDays   float64
	SecretDaysAt time.Time
}

// end is the latest the last run can have been: the end of its minute.
func (l lastRun) end() time.Time {
	if l.At.IsZero() {
		return time.Time{}
	}
	return l.At.Add(metricPeriod)
}

// lastRuns reads, for each integration in names, its latest minute with a
// RotationSucceeded or RotationFailed datapoint (dimensions FunctionName and
// Integration) within window before now, and its latest ClientSecretDaysLeft:
// three queries per integration, one GetMetricData call (and its pages) per
// 166 integrations.
func lastRuns(ctx context.Context, api MetricsAPI, function string, names []string, now time.Time, window time.Duration) (map[string]lastRun, error) {
	runs := map[string]lastRun{}
	start := now.Add(-window).Truncate(metricPeriod)
	end := now.Truncate(metricPeriod).Add(metricPeriod)
	for lo := 0; lo < len(names); lo += maxQueries / 3 {
		batch := names[lo:min(lo+maxQueries/3, len(names))]
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampDescending}
		for i, name := range batch {
			in.MetricDataQueries = append(in.MetricDataQueries,
				sumQuery(fmt.Sprintf("s%d", i), ops.MetricRotationSucceeded, function, name),
				sumQuery(fmt.Sprintf("f%d", i), ops.MetricRotationFailed, function, name),
				statQuery(fmt.Sprintf("d%d", i), MetricClientSecretDaysLeft, "Minimum", function, name))
		}
		points := map[string]map[time.Time]float64{}
		for {
			out, err := api.GetMetricData(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("reading metrics %s/%s and %s of function %s: %w", ops.MetricNamespace, ops.MetricRotationSucceeded, ops.MetricRotationFailed, function, err)
			}
			for _, r := range out.MetricDataResults {
				id := aws.ToString(r.Id)
				if points[id] == nil {
					points[id] = map[time.Time]float64{}
				}
				for j, ts := range r.Timestamps {
					if j < len(r.Values) {
						points[id][ts.UTC()] += r.Values[j]
					}
				}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		for i, name := range batch {
			ok, failed := points[fmt.Sprintf("s%d", i)], points[fmt.Sprintf("f%d", i)]
			var last lastRun
			for _, series := range []map[time.Time]float64{ok, failed} {
				for ts := range series {
					if ts.After(last.At) {
						last.At = ts
					}
				}
			}
			if !last.At.IsZero() {
				last.Succeeded, last.Failed = ok[last.At], failed[last.At]
			}
			for ts, days := range points[fmt.Sprintf("d%d", i)] {
				if ts.After(last.SecretDaysAt) {
					last.SecretDays, last.SecretDaysAt = days, ts
				}
			}
			runs[name] = last
		}
	}
	return runs, nil
}

// sumQuery asks for the per-minute sum of one metric of one integration.
func sumQuery(id, metric, function, integration string) cwtypes.MetricDataQuery {
	return statQuery(id, metric, "Sum", function, integration)
}

// statQuery asks for a per-minute statistic of one metric of one integration.
func statQuery(id, metric, stat, function, integration string) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{
				Namespace:  aws.String(ops.MetricNamespace),
				MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{
					{Name: aws.String(ops.DimensionFunctionName), Value: aws.String(function)},
					{Name: aws.String(ops.DimensionIntegration), Value: aws.String(integration)},
				},
			},
			Period: aws.Int32(int32(metricPeriod / time.Second)),
			Stat:   aws.String(stat),
		},
		ReturnData: aws.Bool(true),
	}
}
