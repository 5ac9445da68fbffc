package status

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// AlarmsAPI is the part of *cloudwatch.Client that lists the alarms in
// ALARM.
type AlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// QueuesAPI is the part of *sqs.Client that reads the dead-letter queue's
// depth.
type QueuesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// alarm is one of the stack's alarms in ALARM.
type alarm struct {
	// Name is the alarm's name.
	Name string
	// Since is when it last changed state.
	Since time.Time
	// Reason is CloudWatch's reason for the state.
	Reason string
}

// alarmsInAlarm lists the alarms in ALARM among those named in watched, all
// of which start with stack + "-" (the template's, named by CloudFormation
// <stack>-<logical id>-<suffix>, and the stale alarms
// <stack>-integration-<name>-stale), sorted by name.
func alarmsInAlarm(ctx context.Context, api AlarmsAPI, stack string, watched map[string]bool) ([]alarm, error) {
	in := &cloudwatch.DescribeAlarmsInput{
		StateValue:      cwtypes.StateValueAlarm,
		AlarmNamePrefix: aws.String(stack + "-"),
		MaxRecords:      aws.Int32(100),
	}
	var alarms []alarm
	for {
		out, err := api.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the alarms of stack %s in ALARM: %w", stack, err)
		}
		for _, a := range out.MetricAlarms {
			// The state is checked again: moto_server ignores StateValue
			// beside AlarmNamePrefix.
			if name := aws.ToString(a.AlarmName); watched[name] && a.StateValue == cwtypes.StateValueAlarm {
				alarms = append(alarms, alarm{Name: name, Since: aws.ToTime(a.StateUpdatedTimestamp), Reason: aws.ToString(a.StateReason)})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(alarms, func(i, j int) bool { return alarms[i].Name < alarms[j].Name })
	return alarms, nil
}

// queueDepth reads the dead-letter queue's ApproximateNumberOfMessages.
func queueDepth(ctx context.Context, api QueuesAPI, url string) (int, error) {
	const attr = sqstypes.QueueAttributeNameApproximateNumberOfMessages
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{attr}})
	if err != nil {
		return 0, fmt.Errorf("reading the depth of the dead-letter queue %s: %w", url, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(attr)])
	if err != nil {
		return 0, fmt.Errorf("the dead-letter queue %s has no %s: %q", url, attr, out.Attributes[string(attr)])
	}
	return n, nil
}
