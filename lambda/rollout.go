package lambda

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
)

// rolloutRequest is the body of POST /flags/{key}/rollout/{action}.
type rolloutRequest struct {
	Environment string `json:"environment"`
	Reason      string `json:"reason"`
}

// controller is the rollout controller on the handler's store, with the configured
// providers and notifier.
func (h *Handler) controller() *rollout.Controller {
	return &rollout.Controller{
		Publisher: h.pub,
		Providers: h.cfg.Providers,
		Notifier:  h.cfg.Notifier,
		Now:       h.cfg.Now,
		Logf: func(format string, args ...any) {
			h.log.Warn("rollout", "message", fmt.Sprintf(format, args...))
		},
	}
}

// rollouts answers GET /rollouts?environment=E[&flag=F].
func (h *Handler) rollouts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		if name != "environment" && name != "flag" {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: environment, flag)", name))
			return
		}
	}
	env := q.Get("environment")
	if env == "" {
		writeError(w, http.StatusBadRequest, "missing_query", "name the environment: GET /rollouts?environment=<name>")
		return
	}
	if !h.checkEnvironment(w, env) {
		return
	}
	list, err := h.controller().Status(r.Context(), env, q.Get("flag"))
	if err != nil {
		writeRolloutError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// rolloutAction answers POST /flags/{key}/rollout/{pause|resume|promote|rollback}.
func (h *Handler) rolloutAction(w http.ResponseWriter, r *http.Request, who, key, action string) {
	var req rolloutRequest
	if !readJSON(w, r, &req) || !h.checkEnvironment(w, req.Environment) {
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if !checkChange(w, key, req.Reason, true, "say why the rollout is changed by hand") {
		return
	}
	d, err := h.controller().Act(r.Context(), req.Environment, key, action, req.Reason, who)
	if err != nil {
		writeRolloutError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func writeRolloutError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, rollout.ErrNoRollout):
		writeError(w, http.StatusNotFound, "no_rollout", err.Error())
	case errors.Is(err, rollout.ErrInvalidTransition):
		writeError(w, http.StatusConflict, "invalid_transition", err.Error())
	default:
		writePublishError(w, err)
	}
}

// TickResponse is the answer to a scheduled invocation: one tick per environment.
type TickResponse struct {
	Results []*rollout.TickResult `json:"results"`
	Errors  []string              `json:"errors,omitempty"`
}

// HandleSchedule runs the rollout controller once over every configured environment
// (the EventBridge schedule of template.yaml invokes it every minute). An environment
// that fails does not stop the others; the invocation fails when any did, so the
// failure shows in the function's error metrics and logs.
func (h *Handler) HandleSchedule(ctx context.Context) (*TickResponse, error) {
	if len(h.cfg.Environments) == 0 {
		return nil, errors.New("lambda: the rollout controller needs " + EnvEnvironments + " (the environments to tick)")
	}
	ctl := h.controller()
	out := &TickResponse{Results: []*rollout.TickResult{}}
	var errs []error
	for _, env := range h.cfg.Environments {
		res, err := ctl.Tick(ctx, env)
		if err != nil {
			h.log.Error("rollout tick", "environment", env, "error", err.Error())
			out.Errors = append(out.Errors, env+": "+err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
			continue
		}
		for _, d := range res.Decisions {
			if d.Decision.Action != publish.DecisionHold {
				h.log.Info("rollout decision", "environment", env, "flag", d.Flag, "action", d.Decision.Action,
					"stage", d.Decision.To+1, "status", d.Decision.Status, "reason", d.Decision.Reason)
			}
		}
		out.Results = append(out.Results, res)
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}
