package api

import (
	"github.com/jobboard/jobboard/commands"

	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/internal/apperr"
)

// commandAnswer is the body of every command's answer (API.md); route-specific fields are
// added by embedding it.
type commandAnswer struct {
	ID               string `json:"id"`
	Version          int64  `json:"version"`
	ConsistencyToken string `json:"consistency_token"`
}

// answerOf is the common part of a command's answer; its consistency token, signed here,
// names the stream the command wrote at its new version.
func (s *Server) answerOf(r commands.Result) commandAnswer {
	return commandAnswer{ID: r.ID, Version: r.Version, ConsistencyToken: s.consistencyToken(r)}
}

// writeCommandAnswer writes a command's answer with the stream version as ETag, so the
// client can send it back as If-Match.
func writeCommandAnswer(w http.ResponseWriter, status int, res commands.Result, location string, body any) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(res.Version, 10)))
	w.Header().Set("Cache-Control", "no-store")
	if location != "" && status == http.StatusCreated {
		w.Header().Set("Location", location)
	}
	writeJSON(w, status, body)
}

// registerAccountRoutes: public sign-up, rate limited per client IP. Idempotency keys of
// anonymous callers share one scope, so a key must be unguessable (a UUID); the stored
// answer (which holds the new token) is encrypted under the key.
func (s *Server) registerAccountRoutes(v1 *mux.Router) {
	g := group(v1, s.rateLimited(s.registrationLimiter), s.idempotent)
	g.HandleFunc("/companies", s.handleRegisterCompany).Methods(http.MethodPost)
	g.HandleFunc("/candidates", s.handleRegisterCandidate).Methods(http.MethodPost)
}

type registeredAnswer struct {
	commandAnswer
	Token string `json:"token"`
}

func (s *Server) handleRegisterCompany(w http.ResponseWriter, r *http.Request) {
	in, err := decodeRegisterCompany(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.RegisterCompany.Handle(r.Context(), commands.RegisterCompany{Caller: caller(r), Input: in})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusCreated, res.Result, "/v1/companies/"+res.ID, registeredAnswer{s.answerOf(res.Result), res.Token})
}

func (s *Server) handleRegisterCandidate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeRegisterCandidate(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.RegisterCandidate.Handle(r.Context(), commands.RegisterCandidate{Caller: caller(r), Input: in})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusCreated, res.Result, "/v1/candidates/"+res.ID, registeredAnswer{s.answerOf(res.Result), res.Token})
}

// registerJobRoutes: an employer's jobs and their listing payments.
func (s *Server) registerJobRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.principalLimited(s.employerLimiter), s.idempotent)
	g.HandleFunc("/jobs", s.handlePostJob).Methods(http.MethodPost)
	g.HandleFunc("/jobs/{id}", s.handleUpdateJob).Methods(http.MethodPatch)
	g.HandleFunc("/jobs/{id}/payments", s.handlePayForListing).Methods(http.MethodPost)
	g.HandleFunc("/jobs/{id}/close", s.handleCloseJob).Methods(http.MethodPost)
}

type jobAnswer struct {
	commandAnswer
	Status string `json:"status"`
}

func (s *Server) handlePostJob(w http.ResponseWriter, r *http.Request) {
	if _, err := requireRole(r.Context(), RoleEmployer); err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodePostJob(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.PostJob.Handle(r.Context(), commands.PostJob{Caller: caller(r), Details: in})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusCreated, res, "/v1/jobs/"+res.ID, jobAnswer{s.answerOf(res), "awaiting_payment"})
}

func (s *Server) handleUpdateJob(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleEmployer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	patch, err := decodeUpdateJob(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.UpdateJob.Handle(r.Context(), commands.UpdateJob{Caller: caller(r), JobID: id, ExpectedVersion: version, Patch: patch})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", s.answerOf(res))
}

type paymentAnswer struct {
	commandAnswer
	PaymentID       string `json:"payment_id"`
	PaymentIntentID string `json:"payment_intent_id"`
	ClientSecret    string `json:"client_secret"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	Status          string `json:"status"`
}

func (s *Server) handlePayForListing(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleEmployer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodePayForListing(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.PayForListing.Handle(r.Context(), commands.PayForListing{Caller: caller(r), JobID: id, Plan: in.Plan, ExpectedVersion: version})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK // the payment already open for this plan
	}
	writeCommandAnswer(w, status, res.Result, "/v1/jobs/"+id, paymentAnswer{
		commandAnswer: s.answerOf(res.Result), PaymentID: res.PaymentID, PaymentIntentID: res.PaymentIntentID,
		ClientSecret: res.ClientSecret, Amount: res.Amount, Currency: res.Currency, Status: res.Status,
	})
}

func (s *Server) handleCloseJob(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleEmployer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := decodeEmpty(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.CloseJob.Handle(r.Context(), commands.CloseJob{Caller: caller(r), JobID: id, ExpectedVersion: version})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", jobAnswer{s.answerOf(res), "closed"})
}

// registerApplicationRoutes: candidates apply (rate limited) and withdraw; employers move
// applications along.
func (s *Server) registerApplicationRoutes(v1 *mux.Router) {
	apply := group(v1, s.rateLimited(s.applicationLimiter), s.authenticate, s.idempotent)
	apply.HandleFunc("/jobs/{id}/applications", s.handleApply).Methods(http.MethodPost)
	g := group(v1, s.authenticate, s.idempotent)
	g.HandleFunc("/applications/{id}/withdraw", s.handleWithdrawApplication).Methods(http.MethodPost)
	g.HandleFunc("/applications/{id}/status", s.handleChangeApplicationStatus).Methods(http.MethodPost)
}

type applicationAnswer struct {
	commandAnswer
	JobID  string `json:"job_id,omitempty"`
	Status string `json:"status"`
}

func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	if _, err := requireRole(r.Context(), RoleCandidate); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodeApply(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.Apply.Handle(r.Context(), commands.Apply{Caller: caller(r), JobID: id, ResumeURL: in.ResumeURL, CoverLetter: in.CoverLetter})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusCreated, res, "/v1/applications/"+res.ID, applicationAnswer{s.answerOf(res), id, "submitted"})
}

func (s *Server) handleWithdrawApplication(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := decodeEmpty(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.WithdrawApplication.Handle(r.Context(), commands.WithdrawApplication{Caller: caller(r), ApplicationID: id, ExpectedVersion: version})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", applicationAnswer{commandAnswer: s.answerOf(res), Status: "withdrawn"})
}

func (s *Server) handleChangeApplicationStatus(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleEmployer)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodeChangeApplicationStatus(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.ChangeApplicationStatus.Handle(r.Context(), commands.ChangeApplicationStatus{Caller: caller(r), ApplicationID: id, Status: in.Status, ExpectedVersion: version})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", applicationAnswer{commandAnswer: s.answerOf(res), Status: in.Status})
}

// commandTarget is the preamble of every command on an existing resource, in the order its
// errors are answered: the caller in the route's role (401/403), the resource's id from the
// path (404) and the If-Match version (400; nil when absent).
func commandTarget(r *http.Request, role Role) (id string, version *int64, err error) {
	if _, err = requireRole(r.Context(), role); err != nil {
		return "", nil, err
	}
	if id, err = pathID(r); err != nil {
		return "", nil, err
	}
	v, err := ifMatch(r)
	if err != nil || v == 0 {
		return id, nil, err
	}
	return id, &v, nil
}

// pathID is the {id} of the route: ids are UUIDs (API.md), so anything else names nothing
// (404) and never reaches the store.
func pathID(r *http.Request) (string, error) {
	id, ok := parseUUID(mux.Vars(r)["id"])
	if !ok {
		return "", apperr.New(apperr.NotFound, "no such resource: ids are UUIDs")
	}
	return id, nil
}

// parseUUID returns raw in canonical form if it is a UUID in the 36-character form the API
// hands out (uuid.Parse alone also takes braces, "urn:uuid:" and no hyphens).
func parseUUID(raw string) (string, bool) {
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return "", false
	}
	return id.String(), true
}
