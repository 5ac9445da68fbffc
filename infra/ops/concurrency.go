package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// MinUnreserved is the concurrency Lambda keeps unreserved in every
// account: a reservation that would leave less fails with "decreases
// account's UnreservedConcurrentExecution below its minimum value".
const MinUnreserved = 100

// Reserved is the concurrency the template reserves for the rotator under
// each RotationEngine when ReserveConcurrency is true (templatecheck holds
// the template to it): one scheduled run at a time, and ten rotation steps
// at once.
var Reserved = map[string]int{"scheduler": 1, "secretsmanager": 10}

// ReservedClientSecret is what the client-secret rotator reserves beside
// the token rotator when ClientSecretRotation is adobe (and
// ReserveConcurrency true): a rotation step and the retire check at once.
const ReservedClientSecret = 2

// ConcurrencyAPI is the part of the Lambda API the reservation check reads.
type ConcurrencyAPI interface {
	GetAccountSettings(ctx context.Context, in *lambda.GetAccountSettingsInput, opts ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
	GetFunctionConcurrency(ctx context.Context, in *lambda.GetFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
}

// Reservation is what an account's concurrency allows the rotator.
type Reservation struct {
	// Reserve is the value for the parameter ReserveConcurrency.
	Reserve bool
	// Why says so in a sentence, with the account's figures.
	Why string
}

// PlanReservation decides ReserveConcurrency for a deploy with engine
// (empty when unknown: both engines must fit) and clientSecret, the
// ClientSecretRotation parameter (none, adobe, or empty when unknown: its
// function must fit too), in an account whose unreserved concurrency is
// unreserved, of limit in all; current is what the stack's functions
// reserve already (0 for a new stack), which an update gives back before
// it reserves again.
func PlanReservation(limit, unreserved, current int, engine, clientSecret string) Reservation {
	need, ok := Reserved[engine]
	if !ok {
		need = max(Reserved["scheduler"], Reserved["secretsmanager"])
	}
	if clientSecret != "none" {
		need += ReservedClientSecret
	}
	free := unreserved + current
	if free-need >= MinUnreserved {
		return Reservation{Reserve: true, Why: fmt.Sprintf(
			"the account's concurrency limit is %d, %d of it unreserved: reserving %d leaves the %d Lambda keeps", limit, free, need, MinUnreserved)}
	}
	return Reservation{Reserve: false, Why: fmt.Sprintf(
		"the account's concurrency limit is %d, %d of it unreserved: reserving %d would leave less than the %d Lambda keeps, so the rotator "+
			"runs unreserved (runs may overlap; see \"Reserved concurrency\" in functions/rotator/README.md); ask for a higher limit "+
			"(Service Quotas, \"Concurrent executions\") and deploy again to reserve", limit, free, need, MinUnreserved)}
}

// CheckReservation reads the account's concurrency (and, for each of the
// stack's functions that exists, its current reservation) and plans
// ReserveConcurrency. functions may be empty or name functions that do not
// exist yet.
func CheckReservation(ctx context.Context, api ConcurrencyAPI, functions []string, engine, clientSecret string) (Reservation, error) {
	acct, err := api.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		return Reservation{}, fmt.Errorf("reading the account's Lambda concurrency (lambda:GetAccountSettings): %w", err)
	}
	if acct.AccountLimit == nil {
		return Reservation{}, errors.New("reading the account's Lambda concurrency: the answer has no AccountLimit")
	}
	current := 0
	for _, function := range functions {
		fc, err := api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(function)})
		var nf *lambdatypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return Reservation{}, fmt.Errorf("reading function %s's reserved concurrency: %w", function, err)
		case fc.ReservedConcurrentExecutions != nil:
			current += int(*fc.ReservedConcurrentExecutions)
		}
	}
	return PlanReservation(int(acct.AccountLimit.ConcurrentExecutions), int(aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions)),
		current, engine, clientSecret), nil
}
