package tokensecrettest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

// ExtensionHandler stands in for the AWS Parameters and Secrets Lambda
// Extension: it serves GET /secretsmanager/get?secretId=... from client,
// refusing (401) requests whose X-Aws-Parameters-Secrets-Token header is not
// sessionToken. Serve it with httptest.NewServer and point
// tokensecret.Config.ExtensionURL at it. Unlike the real extension it does
// not cache.
func ExtensionHandler(client tokensecret.Client, sessionToken string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/secretsmanager/get" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("X-Aws-Parameters-Secrets-Token") != sessionToken || sessionToken == "" {
			http.Error(w, "missing or invalid X-Aws-Parameters-Secrets-Token", http.StatusUnauthorized)
			return
		}
		id := r.URL.Query().Get("secretId")
		out, err := client.GetSecretValue(r.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			code := "InternalFailure"
			var api smithy.APIError
			if errors.As(err, &api) {
				code = api.ErrorCode()
			}
			http.Error(w, fmt.Sprintf("%s: %s", code, err), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN":           aws.ToString(out.ARN),
			"Name":          aws.ToString(out.Name),
			"SecretString":  out.SecretString,
			"VersionId":     aws.ToString(out.VersionId),
			"VersionStages": out.VersionStages,
			"CreatedDate":   aws.ToTime(out.CreatedDate).Format(time.RFC3339),
		})
	})
}
