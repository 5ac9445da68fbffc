package templatecheck

import (
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/infra/ops"
	"github.com/tokenrotator/tokenrotator/infra/status"
)

// TestToolsReadOutputsThatExist: every stack output (and parameter) the
// operator commands (make integration-add, make rotate) and make status read
// is one the template declares, so that renaming one in either place fails here.
func TestToolsReadOutputsThatExist(t *testing.T) {
	outputs := get(t, load(t), "Outputs").(map[string]any)
	for _, name := range []string{ops.OutputFunctionName, ops.OutputSecretPrefix, ops.OutputAlarmTopic, ops.OutputTokenKMSKey,
		ops.OutputRotationEngine, ops.OutputFunctionARN, ops.OutputNativeRules, ops.OutputCredentialsSecret, ops.OutputReaderAccounts,
		status.OutputTokenSecret, status.OutputDeadLetterQueue} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("the tools read stack output %s, which template.yaml does not declare", name)
		}
	}
	if _, ok := get(t, load(t), "Parameters").(map[string]any)[status.ParameterSchedule]; !ok {
		t.Errorf("make status reads stack parameter %s, which template.yaml does not declare", status.ParameterSchedule)
	}
}

// TestToolsReadMetricsTheFunctionWrites: the metric names the operator's
// tools read (the added integrations' stale alarms, make status's last run)
// are those package metrics writes, so that renaming one in either place
// fails here.
func TestToolsReadMetricsTheFunctionWrites(t *testing.T) {
	for _, c := range []struct{ tools, function string }{
		{ops.MetricNamespace, metrics.Namespace},
		{ops.MetricRotationSucceeded, metrics.RotationSucceeded},
		{ops.MetricRotationFailed, metrics.RotationFailed},
		{status.MetricClientSecretDaysLeft, metrics.ClientSecretDaysLeft},
		{ops.DimensionFunctionName, metrics.DimensionFunctionName},
		{ops.DimensionIntegration, metrics.DimensionIntegration},
	} {
		if c.tools != c.function {
			t.Errorf("the tools read %q where the function writes %q", c.tools, c.function)
		}
	}
}
