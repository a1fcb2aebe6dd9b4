package dashboard

import (
	"net/http"

	"github.com/edgeflag/edgeflag/lambda"
)

// APIConfig returns the Config of the dashboard that the kill-switch API configured by api
// serves: the same store, signer, environments, tokens, token actor, metric providers,
// notifier, clock and logger, and the IAM callers the Lambda adapter authenticated
// (lambda.Caller). A host that knows more (`edgeflag dev`: the project, its environments,
// the local edge) sets Project, Edge and Environments on the result.
func APIConfig(api lambda.Config) Config {
	cfg := Config{
		Store: api.Store, Signer: api.Signer, Token: api.Token, ReadOnlyToken: api.ReadOnlyToken,
		TokenActor: api.TokenActor, Caller: lambda.Caller, Providers: api.Providers, Notifier: api.Notifier,
		Now: api.Now, Logger: api.Logger,
	}
	if envs := api.Environments; len(envs) > 0 {
		cfg.Environments = func() []string { return envs }
	}
	return cfg
}

// ForAPI is a lambda.Config.Dashboard: the dashboard of APIConfig(api), what the Lambda
// serves.
func ForAPI(api lambda.Config) (http.Handler, error) {
	return New(APIConfig(api))
}
