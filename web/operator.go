package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

// The operators' pages (/operator/…): projections with their version, state, lag and dead
// letters; rebuilds started and watched until promoted; dead letters listed, shown and
// replayed; the event history filtered, and one stream folded as of a time. They call
// App.Admin as the JSON API's /v1/admin routes do. An operator signs in with an operator
// token (OPERATOR_TOKEN or a named one); the session is a cookie of its own, separate from
// the employers' and candidates', so an operator session never acts as an account and an
// account's session never reaches these pages.

// Operator is an operator who may sign in, by name and token (the API's operators).
type Operator struct {
	Name  string
	Token string
}

const (
	operatorCookie          = "jb_operator"
	operatorMACDomain       = "jobboard web operator session v1\n"
	operatorTokenDomain     = "jobboard web operator token v1\n"
	operatorSessionLifetime = 8 * time.Hour
	// operatorEventsLimit is the page size of the event browser.
	operatorEventsLimit = 50
)

// operatorSession is who signed in, until when, and a MAC of the token used: a token removed
// from the configuration ends the sessions it opened.
type operatorSession struct {
	Name    string `json:"n"`
	Expires int64  `json:"e"`
	Token   string `json:"t"`
}

func (s *Server) operatorTokenMAC(token string) string {
	return hex.EncodeToString(s.mac(operatorTokenDomain, []byte(token))[:12])
}

// operatorNamed is the operator whose token this is (compared in constant time).
func (s *Server) operatorNamed(token string) (Operator, bool) {
	var found Operator
	ok := false
	for _, o := range s.cfg.Operators {
		if o.Token != "" && subtle.ConstantTimeCompare([]byte(o.Token), []byte(token)) == 1 {
			found, ok = o, true
		}
	}
	return found, ok
}

// operatorFrom is the signed-in operator of the request, if any.
func (s *Server) operatorFrom(r *http.Request) (Operator, bool) {
	c, err := r.Cookie(operatorCookie)
	if err != nil {
		return Operator{}, false
	}
	payload, ok := s.unseal(operatorMACDomain, c.Value)
	var sess operatorSession
	if !ok || json.Unmarshal(payload, &sess) != nil || sess.Expires < s.cfg.Now().Unix() {
		return Operator{}, false
	}
	for _, o := range s.cfg.Operators {
		if o.Name == sess.Name && o.Token != "" && hmac.Equal([]byte(s.operatorTokenMAC(o.Token)), []byte(sess.Token)) {
			return o, true
		}
	}
	return Operator{}, false
}

func (s *Server) operatorCookieOf(r *http.Request, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: operatorCookie, Value: value, Path: "/operator", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies || r.TLS != nil,
	}
}

// operatorOnly runs next for a signed-in operator; others go to the sign-in page (a JSON
// request gets 401).
func (s *Server) operatorOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.operatorFrom(r); ok {
			w.Header().Set("Cache-Control", "no-store")
			next(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".json") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"sign in as an operator"}` + "\n"))
			return
		}
		next := r.URL.Path
		if r.Method != http.MethodGet {
			next = "/operator"
		}
		http.Redirect(w, r, "/operator/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
	}
}

// registerOperatorRoutes: the operators' pages, when the application has Admin and an
// operator is configured.
func (s *Server) registerOperatorRoutes() {
	if s.app.Admin == nil || len(s.cfg.Operators) == 0 {
		return
	}
	r := s.router.PathPrefix("/operator").Subrouter()
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc("/signin", s.handleOperatorSignInForm).Methods(get...)
	r.HandleFunc("/signin", s.handleOperatorSignIn).Methods(http.MethodPost)
	r.HandleFunc("/signout", s.handleOperatorSignOut).Methods(http.MethodPost)
	r.HandleFunc("", s.operatorOnly(s.handleOperatorProjections)).Methods(get...)
	r.HandleFunc("/projections/{name}/rebuild", s.operatorOnly(s.handleOperatorStartRebuild)).Methods(http.MethodPost)
	r.HandleFunc("/projections/{name}/rebuilds/{id}.json", s.operatorOnly(s.handleOperatorRebuildJSON)).Methods(get...)
	r.HandleFunc("/projections/{name}/rebuilds/{id}", s.operatorOnly(s.handleOperatorRebuild)).Methods(get...)
	r.HandleFunc("/projections/{name}/dead-letters", s.operatorOnly(s.handleOperatorDeadLetters)).Methods(get...)
	r.HandleFunc("/projections/{name}/dead-letters/replay", s.operatorOnly(s.handleOperatorReplay)).Methods(http.MethodPost)
	r.HandleFunc("/projections/{name}/dead-letters/{id:[0-9]+}", s.operatorOnly(s.handleOperatorDeadLetter)).Methods(get...)
	r.HandleFunc("/events", s.operatorOnly(s.handleOperatorEvents)).Methods(get...)
	r.HandleFunc("/streams/{id}", s.operatorOnly(s.handleOperatorStream)).Methods(get...)
	s.router.HandleFunc(operatorScriptPath, s.handleOperatorScript).Methods(get...)
}

// operatorPage renders an operator page: never indexed, never cached.
func (s *Server) operatorPage(w http.ResponseWriter, r *http.Request, status int, name, title, notice string, data any) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, name, page{Title: title, NoIndex: true, Notice: notice, Data: data})
}

// --- sign-in ---

type operatorSignInView struct {
	Next  string
	Error string
}

// safeNext keeps a sign-in's next page on the operator pages.
func safeNext(next string) string {
	if next == "/operator" || strings.HasPrefix(next, "/operator/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/operator"
}

func (s *Server) handleOperatorSignInForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.operatorFrom(r); ok {
		http.Redirect(w, r, "/operator", http.StatusSeeOther)
		return
	}
	s.operatorPage(w, r, http.StatusOK, "operator_signin.html", "Operator sign-in", "", operatorSignInView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) handleOperatorSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	o, ok := s.operatorNamed(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		s.operatorPage(w, r, http.StatusUnauthorized, "operator_signin.html", "Operator sign-in", "",
			operatorSignInView{Next: next, Error: "This is not an operator token."})
		return
	}
	exp := s.cfg.Now().Add(operatorSessionLifetime)
	payload, _ := json.Marshal(operatorSession{Name: o.Name, Expires: exp.Unix(), Token: s.operatorTokenMAC(o.Token)})
	http.SetCookie(w, s.operatorCookieOf(r, s.seal(operatorMACDomain, payload), exp))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleOperatorSignOut(w http.ResponseWriter, r *http.Request) {
	c := s.operatorCookieOf(r, "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
	http.Redirect(w, r, "/operator/signin", http.StatusSeeOther)
}

// --- projections and rebuilds ---

type operatorProjectionsView struct {
	Operator    string
	Projections []application.ProjectionStatus
}

func (s *Server) handleOperatorProjections(w http.ResponseWriter, r *http.Request) {
	all, err := s.app.Admin.Projections.Handle(r.Context(), application.ListProjections{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, _ := s.operatorFrom(r)
	s.operatorPage(w, r, http.StatusOK, "operator_projections.html", "Projections", "", operatorProjectionsView{Operator: o.Name, Projections: all})
}

// validName keeps what cannot name a projection out of the application layer.
func validName(v string) bool {
	if v == "" || len(v) > 200 || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (s *Server) handleOperatorStartRebuild(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if !validName(name) {
		s.notFound(w, r)
		return
	}
	started, err := s.app.Admin.StartRebuild.Handle(r.Context(), application.StartRebuild{Projection: name})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator/projections/"+url.PathEscape(name)+"/rebuilds/"+started.RebuildID, http.StatusSeeOther)
}

// rebuildView is a rebuild's progress as the page and its script show it.
type rebuildView struct {
	Projection      string  `json:"projection"`
	ID              string  `json:"rebuild_id"`
	FromVersion     int     `json:"from_version"`
	ToVersion       int     `json:"to_version"`
	State           string  `json:"state"`
	Finished        bool    `json:"finished"`
	Promoted        bool    `json:"promoted"`
	EventsDone      int64   `json:"events_done"`
	EventsTotal     int64   `json:"events_total"`
	Percent         float64 `json:"percent"`
	EventsPerSecond float64 `json:"events_per_second"`
	ETASeconds      float64 `json:"eta_seconds"`
	// ETA, Rate and Progress are the texts shown, the same with and without the script.
	ETA        string `json:"eta"`
	Rate       string `json:"rate"`
	Progress   string `json:"progress"`
	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at,omitempty"`
	Error      string `json:"error,omitempty"`
	Script     string `json:"-"`
}

func (s *Server) rebuildOf(w http.ResponseWriter, r *http.Request) (rebuildView, bool) {
	name := mux.Vars(r)["name"]
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok || !validName(name) {
		s.notFound(w, r)
		return rebuildView{}, false
	}
	st, err := s.app.Admin.Rebuild.Handle(r.Context(), application.GetRebuild{Projection: name, RebuildID: id})
	if err != nil {
		if strings.HasSuffix(r.URL.Path, ".json") {
			status := http.StatusInternalServerError
			if apperr.CodeOf(err) == apperr.NotFound {
				status = http.StatusNotFound
			} else {
				s.log.Error("web: rebuild status", "error", err)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"no such rebuild"}` + "\n"))
			return rebuildView{}, false
		}
		s.fail(w, r, err)
		return rebuildView{}, false
	}
	v := rebuildView{
		Projection: st.Projection, ID: st.ID.String(), FromVersion: st.FromVersion, ToVersion: st.ToVersion,
		State: st.State, Finished: st.Finished(), Promoted: st.State == application.RebuildDone,
		EventsDone: st.EventsDone, EventsTotal: st.EventsTotal, EventsPerSecond: st.EventsPerSecond,
		ETASeconds: st.ETASeconds, StartedAt: st.StartedAt.UTC().Format(time.RFC3339), Error: st.Error,
		Script: operatorScriptPath,
	}
	if st.EventsTotal > 0 {
		v.Percent = min(100, float64(st.EventsDone)*100/float64(st.EventsTotal))
	}
	if st.FinishedAt != nil {
		v.FinishedAt = st.FinishedAt.UTC().Format(time.RFC3339)
	}
	v.Progress = strconv.FormatInt(st.EventsDone, 10) + " / " + strconv.FormatInt(st.EventsTotal, 10) + " events (" + strconv.FormatFloat(v.Percent, 'f', 1, 64) + "%)"
	v.Rate = strconv.FormatFloat(st.EventsPerSecond, 'f', 0, 64) + " events/s"
	switch {
	case v.Finished:
		v.ETA = "—"
	case st.EventsTotal > 0 && st.EventsDone >= st.EventsTotal:
		v.ETA = "catching up with the newest events, then the swap"
	case st.ETASeconds > 0:
		v.ETA = (time.Duration(st.ETASeconds * float64(time.Second))).Round(time.Second).String()
	default:
		v.ETA = "estimating…"
	}
	return v, true
}

func (s *Server) handleOperatorRebuild(w http.ResponseWriter, r *http.Request) {
	v, ok := s.rebuildOf(w, r)
	if !ok {
		return
	}
	s.operatorPage(w, r, http.StatusOK, "operator_rebuild.html", "Rebuild of "+v.Projection, "", v)
}

// handleOperatorRebuildJSON is what the page's script polls for the live progress.
func (s *Server) handleOperatorRebuildJSON(w http.ResponseWriter, r *http.Request) {
	v, ok := s.rebuildOf(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// --- dead letters ---

type deadLettersView struct {
	Projection string
	All        bool
	Letters    []application.DeadLetter
	Replayed   int
	Failed     int
}

func (s *Server) handleOperatorDeadLetters(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if !validName(name) {
		s.notFound(w, r)
		return
	}
	all := r.URL.Query().Get("all") == "1"
	letters, err := s.app.Admin.DeadLetters.Handle(r.Context(), application.ListDeadLetters{Projection: name, Replayed: all, Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	notice := ""
	if q := r.URL.Query(); q.Has("replayed") {
		// Counts only: the notice is built from the two integers, never from text a link carries.
		replayed, _ := strconv.Atoi(q.Get("replayed"))
		failed, _ := strconv.Atoi(q.Get("failed"))
		notice = "Replayed " + strconv.Itoa(replayed) + ", failed again " + strconv.Itoa(failed) + "."
	}
	s.operatorPage(w, r, http.StatusOK, "operator_deadletters.html", "Dead letters of "+name, notice,
		deadLettersView{Projection: name, All: all, Letters: letters})
}

type deadLetterView struct {
	Letter   application.DeadLetter
	Payload  string
	Metadata string
}

func (s *Server) handleOperatorDeadLetter(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || !validName(name) {
		s.notFound(w, r)
		return
	}
	dl, err := s.app.Admin.DeadLetter.Handle(r.Context(), application.GetDeadLetter{Projection: name, ID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.operatorPage(w, r, http.StatusOK, "operator_deadletter.html", "Dead letter "+strconv.FormatInt(id, 10)+" of "+name, "",
		deadLetterView{Letter: dl, Payload: indentJSON(dl.Payload), Metadata: indentJSON(mustJSON(dl.Metadata))})
}

func (s *Server) handleOperatorReplay(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil || !validName(name) {
		s.renderError(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			s.renderError(w, r, http.StatusBadRequest, "Invalid request", "A dead letter id is a positive integer.")
			return
		}
		ids = append(ids, id)
	}
	res, err := s.app.Admin.ReplayDeadLetters.Handle(r.Context(), application.ReplayDeadLetters{Projection: name, IDs: ids})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator/projections/"+url.PathEscape(name)+"/dead-letters?replayed="+strconv.Itoa(res.Replayed)+"&failed="+strconv.Itoa(res.Failed), http.StatusSeeOther)
}

// --- the event history ---

type eventsForm struct {
	After, Stream, StreamType, Type, Since, Until string
}

type eventsView struct {
	Form      eventsForm
	Errors    map[string]string
	Events    []application.Event
	NextAfter int64
	// More is true when the page is full: there may be events after it.
	More bool
}

// parseTime reads an RFC 3339 time, or the value of a datetime-local input, taken as UTC.
func parseTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

const timeHint = "must be a time such as 2025-01-31T12:00:00Z (or 2025-01-31T12:00, taken as UTC)"

func (s *Server) handleOperatorEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := eventsForm{After: q.Get("after"), Stream: q.Get("stream"), StreamType: q.Get("stream_type"), Type: q.Get("type"), Since: q.Get("since"), Until: q.Get("until")}
	bad := map[string]string{}
	read := application.ReadEvents{Limit: operatorEventsLimit}
	if f.After != "" {
		n, err := strconv.ParseInt(f.After, 10, 64)
		if err != nil || n < 0 {
			bad["after"] = "must be a global position, an integer ≥ 0"
		}
		read.After = n
	}
	for name, v := range map[string]string{"stream": f.Stream, "stream_type": f.StreamType, "type": f.Type} {
		if v != "" && !validName(v) {
			bad[name] = "must be printable text of at most 200 bytes"
		}
	}
	read.Filter.StreamID, read.Filter.StreamType = strings.TrimSpace(f.Stream), strings.TrimSpace(f.StreamType)
	for _, t := range strings.Split(f.Type, ",") {
		if t = strings.TrimSpace(t); t != "" {
			read.Filter.Types = append(read.Filter.Types, t)
		}
	}
	if len(read.Filter.Types) > 50 {
		bad["type"] = "at most 50 types"
	}
	for name, dst := range map[string]*time.Time{"since": &read.Filter.Since, "until": &read.Filter.Until} {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			t, ok := parseTime(v)
			if !ok {
				bad[name] = timeHint
			}
			*dst = t
		}
	}
	view := eventsView{Form: f, Errors: bad}
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusBadRequest
	} else {
		page, err := s.app.Admin.Events.Handle(r.Context(), read)
		if fe := fieldErrors(err); fe != nil {
			view.Errors, status = fe, http.StatusBadRequest
		} else if err != nil {
			s.fail(w, r, err)
			return
		} else {
			view.Events, view.NextAfter, view.More = page.Items, page.NextAfter, len(page.Items) == operatorEventsLimit
		}
	}
	s.operatorPage(w, r, status, "operator_events.html", "Event history", "", view)
}

type streamView struct {
	ID, AsOf   string
	Error      string
	Found      bool
	StreamType string
	Version    int64
	Events     []application.Event
	State      string
}

func (s *Server) handleOperatorStream(w http.ResponseWriter, r *http.Request) {
	raw := mux.Vars(r)["id"]
	id, ok := parseID(raw)
	if !ok {
		// Every stream is an aggregate's, named by a UUID.
		s.notFound(w, r)
		return
	}
	view := streamView{ID: id, AsOf: r.URL.Query().Get("as_of")}
	var asOf time.Time
	if v := strings.TrimSpace(view.AsOf); v != "" {
		t, ok := parseTime(v)
		if !ok {
			view.Error = "as of " + timeHint
			s.operatorPage(w, r, http.StatusBadRequest, "operator_stream.html", "Stream "+id, "", view)
			return
		}
		asOf = t
	}
	st, err := s.app.Admin.Stream.Handle(r.Context(), application.GetStream{StreamID: id, AsOf: asOf})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view.Found, view.StreamType, view.Version, view.Events = true, st.StreamType, st.Version, st.Events
	view.State = indentJSON(mustJSON(st.State))
	s.operatorPage(w, r, http.StatusOK, "operator_stream.html", "Stream "+id, "", view)
}

// --- helpers and the script ---

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func indentJSON(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// operatorScriptPath serves static/operator.js, the live progress of a rebuild page; its
// version is in the path so it can be cached for a year like the stylesheet.
var operatorScriptPath = func() string {
	b, _ := assets.ReadFile("static/operator.js")
	sum := sha256.Sum256(b)
	return "/static/operator." + hex.EncodeToString(sum[:6]) + ".js"
}()

func (s *Server) handleOperatorScript(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("static/operator.js")
	if err != nil {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}
