package ops

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The rotator's metrics that the operator's tools read, as it emits them
// (functions/internal/metrics, which infra cannot import;
// functions/internal/templatecheck holds the two equal).
const (
	// MetricNamespace is the rotator's CloudWatch namespace.
	MetricNamespace = "TokenRotator"
	// MetricRotationSucceeded is 1 for each run in which the integration
	// got or kept a fresh token, 0 when it failed.
	MetricRotationSucceeded = "RotationSucceeded"
	// MetricRotationFailed is 1 for each run in which the integration
	// failed, 0 otherwise.
	MetricRotationFailed = "RotationFailed"
	// DimensionFunctionName and DimensionIntegration are the dimensions of
	// an integration's metrics.
	DimensionFunctionName = "FunctionName"
	DimensionIntegration  = "Integration"
	// StaleHours is how long an integration goes without a successful run
	// before its alarm fires.
	StaleHours = 24
)

// AlarmName is the name of the stale alarm of integration name in stack.
func AlarmName(stack, name string) string {
	return stack + "-integration-" + name + "-stale"
}

// staleAlarm is the PutMetricAlarm input of integration name's stale
// alarm: it fires when no run in the last 24 hours, each hour summed,
// counted a success for it, and a missing datapoint (the function not
// running) counts as a failure.
func staleAlarm(st Stack, name string) *cloudwatch.PutMetricAlarmInput {
	topic := []string{st.AlarmTopicARN}
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(AlarmName(st.Name, name)),
		AlarmDescription: aws.String(fmt.Sprintf("Integration %s of stack %s has had no successful rotation for %d hours: its token may expire. "+
			"See the function's log for the integration; make rotate INTEGRATION=%s retries.", name, st.Name, StaleHours, name)),
		Namespace:  aws.String(MetricNamespace),
		MetricName: aws.String(MetricRotationSucceeded),
		Dimensions: []types.Dimension{
			{Name: aws.String(DimensionFunctionName), Value: aws.String(st.FunctionName)},
			{Name: aws.String(DimensionIntegration), Value: aws.String(name)},
		},
		Statistic:          types.StatisticSum,
		Period:             aws.Int32(3600),
		EvaluationPeriods:  aws.Int32(StaleHours),
		DatapointsToAlarm:  aws.Int32(StaleHours),
		Threshold:          aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorLessThanThreshold,
		TreatMissingData:   aws.String("breaching"),
		AlarmActions:       topic,
		OKActions:          topic,
	}
}
