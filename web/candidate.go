package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/readmodels"
)

func (s *Server) registerCandidateRoutes() {
	s.router.HandleFunc("/jobs/{id}/apply", s.handleApply).Methods(http.MethodPost)
	s.router.HandleFunc("/me/applications", s.handleMyApplications).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/me/applications/{id}/withdraw", s.handleWithdraw).Methods(http.MethodPost)
}

// handleApply sends the application; its problems are shown on the job page next to their
// fields, with what was typed.
func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	j, owner, err := s.loadVisibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := applyForm{CoverLetter: r.PostFormValue("cover_letter"), ResumeURL: r.PostFormValue("resume_url")}
	res, err := s.app.Commands.Apply.Handle(r.Context(), commands.Apply{Caller: sess.caller(r), JobID: j.ID, ResumeURL: form.ResumeURL, CoverLetter: form.CoverLetter})
	if errs := fieldErrors(err); errs != nil {
		s.renderJob(w, r, http.StatusUnprocessableEntity, j, owner, form, errs)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/me/applications", "applied", application.Written(res))
}

type myApplicationsView struct {
	Items []readmodels.CandidateApplication
	// NextHref pages on; cursors of this list are the read model's own (bound to the
	// candidate by the query, which lists only the session's applications).
	NextHref string
}

func (s *Server) handleMyApplications(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	if err := s.awaitWrites(r, application.ReadModelTables); err != nil {
		s.fail(w, r, err)
		return
	}
	page1, err := s.app.Queries.CandidateApplications.Handle(r.Context(), application.ListCandidateApplications{CandidateID: sess.ID,
		Page: readmodels.ListParams{Limit: 50, Cursor: s.openListCursor(r, "me/applications", sess.ID)}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := myApplicationsView{Items: page1.Items}
	if c := s.sealListCursor("me/applications", sess.ID, page1.NextCursor); c != "" {
		v.NextHref = "/me/applications?cursor=" + c
	}
	s.render(w, r, http.StatusOK, "myapplications.html", page{Title: "My applications", NoIndex: true, Data: v})
}

func (s *Server) handleWithdraw(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	res, err := s.app.Commands.WithdrawApplication.Handle(r.Context(), commands.WithdrawApplication{Caller: sess.caller(r), ApplicationID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/me/applications", "withdrawn", application.Written(res))
}

// sealListCursor signs a list's next-page position for its owner; openListCursor reads the
// request's cursor back ("" when absent or not ours: the first page).
func (s *Server) sealListCursor(list, owner, pos string) string {
	if pos == "" {
		return ""
	}
	return s.seal(cursorMACDomain, []byte(list+"\x00"+owner+"\x00"+pos))
}

func (s *Server) openListCursor(r *http.Request, list, owner string) string {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return ""
	}
	payload, ok := s.unseal(cursorMACDomain, c)
	if !ok {
		return ""
	}
	prefix := list + "\x00" + owner + "\x00"
	if p := string(payload); len(p) > len(prefix) && p[:len(prefix)] == prefix {
		return p[len(prefix):]
	}
	return ""
}
