package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/edgeflag/edgeflag/rollout"
)

// MaxReasonLength bounds a reason (the kill-switch API's bound).
const MaxReasonLength = 1000

// maxFormBytes bounds an action's form.
const maxFormBytes = 16 << 10

var flagKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func isAction(name string) bool {
	return name == "kill" || name == "unkill" || rollout.ValidAction(name)
}

// actionError is an action refused or failed, shown on the flag page.
type actionError struct {
	status int
	msg    string
}

// action runs a kill, an unkill or a rollout action from the flag page's forms: same
// origin, a write session, its CSRF token, a reason and the confirmation box. It goes
// through publish.Publisher (kill, unkill) and rollout.Controller (pause, resume,
// promote, rollback) like the kill-switch API, then redirects to the flag page.
func (h *Handler) action(w http.ResponseWriter, r *http.Request, sess *session, key, action string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_form", "reading the form: "+err.Error())
		return
	}
	if !h.checkPost(w, r, sess) {
		return
	}
	env := r.PostFormValue("env")
	q := r.URL.Query()
	q.Set("env", env)
	r.URL.RawQuery = q.Encode()
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	fail := func(status int, msg string) {
		h.flagPage(w, r, sess, key, &actionError{status: status, msg: msg})
	}
	switch {
	case !flagKeyPattern.MatchString(key):
		h.errorPage(w, r, sess, http.StatusNotFound, "No such flag", fmt.Sprintf("%q is not a flag key", key))
		return
	case env == "":
		fail(http.StatusBadRequest, "The form names no environment.")
		return
	case reason == "":
		fail(http.StatusBadRequest, "Say why: the reason goes into the audit trail.")
		return
	case len(reason) > MaxReasonLength:
		fail(http.StatusBadRequest, fmt.Sprintf("The reason is longer than %d characters.", MaxReasonLength))
		return
	case r.PostFormValue("confirm") != "yes":
		fail(http.StatusBadRequest, "Tick the confirmation box to "+action+" "+key+" in "+env+".")
		return
	}
	if _, _, err := h.pickEnv(r.Context(), r); err != nil {
		h.errorPage(w, r, sess, statusOf(err), "No such environment", err.Error())
		return
	}
	var err error
	switch action {
	case "kill":
		_, err = h.pub.Kill(r.Context(), env, key, reason, sess.Who)
	case "unkill":
		_, err = h.pub.Unkill(r.Context(), env, key, reason, sess.Who)
	default:
		_, err = h.controller().Act(r.Context(), env, key, action, reason, sess.Who)
	}
	if err != nil {
		h.log.Warn("dashboard: action", "action", action, "flag", key, "environment", env, "who", sess.Who, "error", err.Error())
		msg := err.Error()
		if errors.Is(err, rollout.ErrInvalidTransition) {
			msg = "The rollout changed meanwhile: " + msg
		}
		fail(statusOf(err), msg)
		return
	}
	h.log.Info("dashboard: action", "action", action, "flag", key, "environment", env, "who", sess.Who)
	http.Redirect(w, r, Prefix+"flags/"+key+"?env="+url.QueryEscape(env)+"&done="+action, http.StatusSeeOther)
}
