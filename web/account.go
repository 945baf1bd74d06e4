package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/signinlink"
)

// Passwordless accounts: signing up registers the account (as POST /v1/companies or
// /v1/candidates does) and e-mails a sign-in link; signing in e-mails a link. Both answer
// the same page whether or not the address has an account. Following the link asks for a
// click (a POST), so that mail scanners that open links do not use up the single-use link.

type accountForm struct {
	Role                              string
	Name, Email, Website, Description string
	Errors                            map[string]string
	Employer                          bool
}

type linkView struct {
	Token string
	Role  string
}

func (s *Server) registerAccountRoutes() {
	s.router.HandleFunc("/signin", s.handleSignInForm).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/signin", s.handleSignIn).Methods(http.MethodPost)
	s.router.HandleFunc("/signup", s.handleSignUpForm).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/signup", s.handleSignUp).Methods(http.MethodPost)
	s.router.HandleFunc(signinlink.Path, s.handleLinkPage).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc(signinlink.Path, s.handleUseLink).Methods(http.MethodPost)
	s.router.HandleFunc("/signout", s.handleSignOut).Methods(http.MethodPost)
}

// roleOf reads the role of an account form: candidate unless employer is asked for.
func roleOf(r *http.Request) commands.Role {
	if r.FormValue("role") == string(commands.RoleEmployer) {
		return commands.RoleEmployer
	}
	return commands.RoleCandidate
}

func roleTitle(role commands.Role) string {
	if role == commands.RoleEmployer {
		return "employer"
	}
	return "candidate"
}

func (s *Server) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	role := roleOf(r)
	s.render(w, r, http.StatusOK, "signin.html", page{Title: "Sign in as " + roleTitle(role), Description: "Sign in to jobboard with a link sent to your e-mail address.",
		Data: accountForm{Role: string(role), Employer: role == commands.RoleEmployer}})
}

func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	role := roleOf(r)
	form := accountForm{Role: string(role), Email: strings.TrimSpace(r.PostFormValue("email")), Employer: role == commands.RoleEmployer}
	_, err := s.app.Commands.RequestSignInLink.Handle(r.Context(), commands.RequestSignInLink{Caller: caller(r), Role: role, Email: form.Email})
	if errs := fieldErrors(err); errs != nil {
		form.Errors = errs
		s.render(w, r, http.StatusUnprocessableEntity, "signin.html", page{Title: "Sign in as " + roleTitle(role), NoIndex: true, Data: form})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.checkEmail(w, r, form.Email)
}

// checkEmail is the one answer to a sign-in or sign-up, whether or not the address has an
// account.
func (s *Server) checkEmail(w http.ResponseWriter, r *http.Request, email string) {
	s.render(w, r, http.StatusOK, "checkemail.html", page{Title: "Check your e-mail", NoIndex: true, Data: email})
}

func (s *Server) handleSignUpForm(w http.ResponseWriter, r *http.Request) {
	role := roleOf(r)
	s.render(w, r, http.StatusOK, "signup.html", page{Title: "Create a " + roleTitle(role) + " account", Description: "Create a jobboard account: no password, we e-mail you a sign-in link.",
		Data: accountForm{Role: string(role), Employer: role == commands.RoleEmployer}})
}

func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) {
	role := roleOf(r)
	form := accountForm{Role: string(role), Employer: role == commands.RoleEmployer,
		Name: r.PostFormValue("name"), Email: strings.TrimSpace(r.PostFormValue("email")),
		Website: strings.TrimSpace(r.PostFormValue("website")), Description: r.PostFormValue("description")}
	var err error
	if role == commands.RoleEmployer {
		_, err = s.app.Commands.RegisterCompany.Handle(r.Context(), commands.RegisterCompany{Caller: caller(r),
			Input: domain.CompanyInput{Name: form.Name, Email: form.Email, Website: form.Website, Description: form.Description}})
	} else {
		_, err = s.app.Commands.RegisterCandidate.Handle(r.Context(), commands.RegisterCandidate{Caller: caller(r),
			Input: domain.CandidateInput{Name: form.Name, Email: form.Email}})
	}
	if errs := fieldErrors(err); errs != nil {
		form.Errors = errs
		s.render(w, r, http.StatusUnprocessableEntity, "signup.html", page{Title: "Create a " + roleTitle(role) + " account", NoIndex: true, Data: form})
		return
	}
	// A taken address gets a sign-in link instead: the page must not tell that the address
	// has an account.
	if err != nil && apperr.CodeOf(err) != apperr.Conflict {
		s.fail(w, r, err)
		return
	}
	if _, err := s.app.Commands.RequestSignInLink.Handle(r.Context(), commands.RequestSignInLink{Caller: caller(r), Role: role, Email: form.Email}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.checkEmail(w, r, form.Email)
}

// readLink checks the signed link of the request (t); an invalid or expired one is a page
// saying so.
func (s *Server) readLink(w http.ResponseWriter, r *http.Request) (signinlink.Link, string, bool) {
	token := r.FormValue("t")
	l, err := signinlink.Parse(s.cfg.SigningKey, token, s.cfg.Now())
	switch {
	case errors.Is(err, signinlink.ErrExpired):
		s.renderError(w, r, http.StatusGone, "This link has expired", "Sign-in links work for a few minutes. Ask for a new one from the sign-in page.")
		return l, "", false
	case err != nil || (l.Role != string(commands.RoleEmployer) && l.Role != string(commands.RoleCandidate)):
		s.renderError(w, r, http.StatusBadRequest, "This link does not work", "Copy the whole link from the e-mail, or ask for a new one from the sign-in page.")
		return l, "", false
	}
	return l, token, true
}

func (s *Server) handleLinkPage(w http.ResponseWriter, r *http.Request) {
	l, token, ok := s.readLink(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "signinlink.html", page{Title: "Sign in", NoIndex: true, Data: linkView{Token: token, Role: l.Role}})
}

func (s *Server) handleUseLink(w http.ResponseWriter, r *http.Request) {
	l, _, ok := s.readLink(w, r)
	if !ok {
		return
	}
	role := commands.Role(l.Role)
	_, err := s.app.Commands.UseSignInLink.Handle(r.Context(), commands.UseSignInLink{Caller: caller(r), LinkID: l.LinkID, Role: role, AccountID: l.AccountID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess := Session{Role: role, ID: l.AccountID}
	if role == commands.RoleEmployer {
		// The name is a nicety: a company registered a moment ago may not be projected yet.
		if c, err := s.app.Queries.Company.Handle(r.Context(), application.GetCompany{ID: l.AccountID}); err == nil {
			sess.Name = c.Name
		}
	}
	s.startSession(w, r, sess)
	http.Redirect(w, r, homeOf(role)+"?done=signedin", http.StatusSeeOther)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	http.Redirect(w, r, "/?done=signedout", http.StatusSeeOther)
}
