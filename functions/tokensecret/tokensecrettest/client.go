package tokensecrettest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

// Client is a fake Secrets Manager client holding the versions of one secret.
// It satisfies tokensecret.Client, answers for any SecretId, and counts its
// reads. The zero value holds no value (reads fail with
// ResourceNotFoundException, as for a secret before its first rotation) and
// is ready to use. A Client is safe for concurrent use.
type Client struct {
	// OnRead, if set, is called at the start of every GetSecretValue,
	// outside the Client's lock: to block a read, or to watch it.
	OnRead func(ctx context.Context)

	mu       sync.Mutex
	versions []string // values, oldest first; the last is AWSCURRENT
	err      error
	reads    int
}

// NewClient returns an empty Client.
func NewClient() *Client { return &Client{} }

// Put stores a new version holding secretString and makes it AWSCURRENT, as
// PutSecretValue does. It returns the version id.
func (c *Client) Put(secretString string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions = append(c.versions, secretString)
	return versionID(len(c.versions) - 1)
}

// PutToken stores tok as a new version in the token secret's format.
func (c *Client) PutToken(tok tokensecret.Token) string { return c.Put(SecretString(tok)) }

// Fail makes every read fail with err, until Fail(nil). NotFound and
// AccessDenied give errors shaped like the SDK's.
func (c *Client) Fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// Reads returns how many times GetSecretValue was called.
func (c *Client) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// GetSecretValue implements tokensecret.Client. It honours VersionId and
// VersionStage (AWSCURRENT, AWSPREVIOUS).
func (c *Client) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if c.OnRead != nil {
		c.OnRead(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	if c.err != nil {
		return nil, c.err
	}
	i := len(c.versions) - 1
	switch {
	case in.VersionId != nil:
		n, err := strconv.Atoi(aws.ToString(in.VersionId))
		if err != nil || n < 0 || n >= len(c.versions) {
			return nil, NotFound()
		}
		i = n
	case aws.ToString(in.VersionStage) == "AWSPREVIOUS":
		i--
	}
	if i < 0 {
		return nil, NotFound()
	}
	name := aws.ToString(in.SecretId)
	return &secretsmanager.GetSecretValueOutput{
		ARN:           aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name),
		Name:          aws.String(name),
		SecretString:  aws.String(c.versions[i]),
		VersionId:     aws.String(versionID(i)),
		VersionStages: stages(i, len(c.versions)),
		CreatedDate:   aws.Time(time.Unix(0, 0)),
	}, nil
}

// String describes the Client without the values it holds.
func (c *Client) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("tokensecrettest.Client{versions: %d, reads: %d}", len(c.versions), c.reads)
}

// Format writes String for every verb, so that no value it holds is printed.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// NotFound returns the error Secrets Manager gives for a missing secret, or
// one without a value yet.
func NotFound() error {
	return &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
}

// AccessDenied returns the error Secrets Manager gives when IAM refuses a
// read.
func AccessDenied() error {
	return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform secretsmanager:GetSecretValue"}
}

// versionID names version i. Ids are small integers, so that VersionId
// lookups are easy to write in tests.
func versionID(i int) string { return strconv.Itoa(i) }

// stages returns the staging labels of version i of n.
func stages(i, n int) []string {
	switch i {
	case n - 1:
		return []string{"AWSCURRENT"}
	case n - 2:
		return []string{"AWSPREVIOUS"}
	default:
		return nil
	}
}
