package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The principals of the authorization matrix, in the order of its columns. The owner is the
// employer or the candidate whom the row's resource belongs to (routes without an owner give
// the owning employer's token there).
const (
	anonymous = iota
	otherEmployer
	otherCandidate
	owner
	operator
	principals
)

var principalNames = [principals]string{"anonymous", "another employer", "another candidate", "owner", "operator"}

// authzRoute is one row of the matrix: a route, whose resource it names, and the status each
// principal must get on an existing and on a missing resource (API.md).
type authzRoute struct {
	method string
	// path names the row's resource as {id}; other placeholders ({job}) are filled from the
	// same world.
	path string
	// resource is what {id} is: job (published), draft (unpaid job), application, company,
	// stream (the published job's), projection, rebuild (of JobSearchProjector); "" when the
	// route has none.
	resource string
	// ownedBy is whose token the owner column sends: "employer" (default) or "candidate".
	ownedBy string
	body    func() any
	headers []string
	// existing and missing are the statuses per principal; missing is unused without a
	// resource.
	existing, missing [principals]int
}

// Rows per status pattern, to keep the table readable.
var (
	public200 = [principals]int{200, 200, 200, 200, 200}
	public404 = [principals]int{404, 404, 404, 404, 404}
	adminOnly = func(status int) [principals]int { return [principals]int{401, 403, 403, 403, status} }
	// An action on another employer's private resource is not found; on a public one (a
	// published job) it is forbidden (API.md: 404 for private resources, 403 for actions).
	employerAct       = func(owner int) [principals]int { return [principals]int{401, 404, 403, owner, 403} }
	employerActPublic = func(owner int) [principals]int { return [principals]int{401, 403, 403, owner, 403} }
	missingAct        = [principals]int{401, 404, 403, 404, 403}
)

// authzMatrix is every route of API.md (the Stripe webhook, which has no principal, aside).
// To add a route, add a row; a new kind of resource also needs a case in world.id.
var authzMatrix = []authzRoute{
	// Health, metrics and the document: everyone.
	{method: "GET", path: "/healthz", existing: public200},
	{method: "GET", path: "/readyz", existing: public200},
	{method: "GET", path: "/metrics", existing: public200},
	{method: "GET", path: "/v1/openapi.json", existing: public200},

	// Accounts: registration is anonymous; a company is public.
	{method: "POST", path: "/v1/companies", body: func() any {
		return map[string]any{"name": "Matrix Inc", "email": uuid.NewString() + "@matrix.test"}
	}, existing: [principals]int{201, 201, 201, 201, 201}},
	{method: "POST", path: "/v1/candidates", body: func() any {
		return map[string]any{"name": "Matrix Candidate", "email": uuid.NewString() + "@matrix.test"}
	}, existing: [principals]int{201, 201, 201, 201, 201}},
	{method: "GET", path: "/v1/companies/{id}", resource: "company", existing: public200, missing: public404},
	{method: "GET", path: "/v1/companies/{id}/jobs", resource: "company", existing: public200, missing: public404},

	// Queries of jobs: a published job is public, an unpaid one its owner's only.
	{method: "GET", path: "/v1/jobs", existing: public200},
	{method: "GET", path: "/v1/jobs/{id}", resource: "job", existing: public200, missing: public404},
	{method: "GET", path: "/v1/jobs/{id}", resource: "draft", existing: [principals]int{404, 404, 404, 200, 404}, missing: public404},
	{method: "GET", path: "/v1/jobs/{id}/applications", resource: "job",
		existing: [principals]int{401, 404, 404, 200, 404}, missing: [principals]int{401, 404, 404, 404, 404}},

	// The employer's actions: the wrong role is 403, another employer's job is not found.
	{method: "POST", path: "/v1/jobs", body: func() any { return jobBody() }, existing: [principals]int{401, 201, 403, 201, 403}},
	{method: "PATCH", path: "/v1/jobs/{id}", resource: "draft", body: func() any { return map[string]any{"title": "A renamed job"} },
		existing: employerAct(200), missing: missingAct},
	{method: "PATCH", path: "/v1/jobs/{id}", resource: "job", body: func() any { return map[string]any{"title": "A renamed job"} },
		existing: employerActPublic(200), missing: missingAct},
	// Ownership is decided before If-Match: a stale version tells the owner 409, anyone else
	// what they would hear without it (no "at version N" oracle).
	{method: "PATCH", path: "/v1/jobs/{id}", resource: "draft", body: func() any { return map[string]any{"title": "A renamed job"} },
		headers: []string{"If-Match", "2"}, existing: employerAct(409), missing: missingAct},
	{method: "PATCH", path: "/v1/jobs/{id}", resource: "job", body: func() any { return map[string]any{"title": "A renamed job"} },
		headers: []string{"If-Match", "1"}, existing: employerActPublic(409), missing: missingAct},
	{method: "POST", path: "/v1/jobs/{id}/payments", resource: "draft", body: func() any { return map[string]any{"plan": "standard"} },
		existing: employerAct(201), missing: missingAct},
	{method: "POST", path: "/v1/jobs/{id}/close", resource: "draft", existing: employerAct(200), missing: missingAct},
	{method: "POST", path: "/v1/jobs/{id}/close", resource: "job", existing: employerActPublic(200), missing: missingAct},

	// Applications: the candidate applies and withdraws; the job's employer moves them on.
	{method: "POST", path: "/v1/jobs/{id}/applications", resource: "job", ownedBy: "candidate",
		body:     func() any { return map[string]any{"resume_url": "https://cv.test/matrix.pdf"} },
		existing: [principals]int{401, 403, 201, 409, 403}, missing: [principals]int{401, 403, 404, 404, 403}},
	{method: "POST", path: "/v1/applications/{id}/withdraw", resource: "application", ownedBy: "candidate",
		existing: [principals]int{401, 403, 404, 200, 403}, missing: [principals]int{401, 403, 404, 404, 403}},
	{method: "POST", path: "/v1/applications/{id}/status", resource: "application", body: func() any { return map[string]any{"status": "reviewing"} },
		existing: employerAct(200), missing: missingAct},
	{method: "GET", path: "/v1/candidates/me/applications", ownedBy: "candidate", existing: [principals]int{401, 403, 200, 200, 403}},

	// Operators only.
	{method: "GET", path: "/v1/admin/events", existing: adminOnly(200)},
	{method: "GET", path: "/v1/admin/projections", existing: adminOnly(200)},
	{method: "GET", path: "/v1/admin/streams/{id}", resource: "stream", existing: adminOnly(200), missing: adminOnly(404)},
	{method: "GET", path: "/v1/admin/projections/JobSearchProjector/rebuilds/{id}", resource: "rebuild", existing: adminOnly(200), missing: adminOnly(404)},
	{method: "POST", path: "/v1/admin/projections/{id}/rebuild", resource: "projection", existing: adminOnly(202), missing: adminOnly(404)},

	// Tokens: any account describes its own token; employers and candidates rotate theirs, an
	// operator's is configuration (an action its role may not take). Rotation retires the
	// tokens the rows above use, so it comes last.
	{method: "GET", path: "/v1/tokens/current", existing: [principals]int{401, 200, 200, 200, 200}},
	{method: "POST", path: "/v1/tokens/rotate", existing: [principals]int{401, 201, 201, 201, 403}},
}

// world is the resources of one row, made fresh so that one row's actions (a close, a
// withdrawal) do not change what the next row finds.
type world struct {
	c                                client
	employer, candidate              string // the owners' tokens
	company, job, draft, application string
	rebuild                          string
}

func newWorld(c client, webhookSecret, employer, companyID, candidate string, row authzRoute) world {
	c.t.Helper()
	w := world{c: c, employer: employer, candidate: candidate, company: companyID}
	if row.resource == "" || row.resource == "projection" {
		return w
	}
	if row.resource == "rebuild" {
		w.rebuild = c.must(c.do("POST", "/v1/admin/projections/JobSearchProjector/rebuild", operatorToken, nil), 202).str("rebuild_id")
		return w
	}
	var published string
	w.job, published = postAndPay(c, webhookSecret, employer, "Matrix job", "standard")
	applied := c.must(c.do("POST", "/v1/jobs/"+w.job+"/applications", candidate, map[string]any{"resume_url": "https://cv.test/owner.pdf"}), 201)
	w.application = applied.str("id")
	draft := c.must(c.do("POST", "/v1/jobs", employer, jobBody()), 201)
	w.draft = draft.str("id")
	// The queries answer from projections: let them catch up once, as the owner, so the
	// matrix's own requests carry no consistency token.
	readable(c, "/v1/jobs/"+w.job, "", published)
	readable(c, "/v1/jobs/"+w.draft, employer, draft.str("consistency_token"))
	readable(c, "/v1/jobs/"+w.job+"/applications", employer, applied.str("consistency_token"))
	return w
}

// readable reads path with the consistency token until it answers 200 (a projection that
// has not yet seen a resource may answer 404 before any wait).
func readable(c client, path, token, consistencyToken string) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a := c.read(path, token, consistencyToken)
		if a.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s never became readable: %d %s", path, a.status, a.raw)
		}
	}
}

// id is the row's resource: the existing one, or a missing one of the same kind.
func (w world) id(resource string, existing bool) string {
	if !existing {
		if resource == "projection" {
			return "NoSuchProjector"
		}
		return uuid.NewString()
	}
	switch resource {
	case "job", "stream":
		return w.job
	case "draft":
		return w.draft
	case "application":
		return w.application
	case "company":
		return w.company
	case "projection":
		return "ReadTablesProjector"
	case "rebuild":
		return w.rebuild
	}
	w.c.t.Fatalf("no resource %q in the world", resource)
	return ""
}

// TestAuthorizationMatrix sends every route of API.md as every principal, on an existing and
// on a missing resource, against the whole running system, and checks the status of each,
// and that on each route every 404 has the same shape, so that a principal cannot tell
// another's private resource from a missing one.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}

	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Owner Inc", "email": uuid.NewString() + "@owner.test"}), 201)
	awaitProjectors(c, cfg, company.str("id"), company.str("consistency_token"))
	_, otherEmployerToken := registerCompany(c)
	candidate := func() string {
		return c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@cand.test"}), 201).str("token")
	}
	ownerCandidate, otherCandidateToken := candidate(), candidate()

	for _, row := range authzMatrix {
		name := row.method + " " + row.path
		if row.resource != "" {
			name += " (" + row.resource + ")"
		}
		if len(row.headers) > 0 {
			name += " " + strings.Join(row.headers, ": ")
		}
		t.Run(name, func(t *testing.T) {
			c := client{t: t, base: m.URL()}
			w := newWorld(c, cfg.StripeWebhookSecret, company.str("token"), company.str("id"), ownerCandidate, row)
			tokens := [principals]string{"", otherEmployerToken, otherCandidateToken, w.employer, operatorToken}
			if row.ownedBy == "candidate" {
				tokens[owner] = w.candidate
			}
			type cell struct {
				who      int
				existing bool
			}
			// The owner's request comes last: it may change the resource (close, withdraw).
			var cells []cell
			for _, who := range []int{anonymous, otherEmployer, otherCandidate, operator, owner} {
				if row.resource != "" {
					cells = append(cells, cell{who, false})
				}
			}
			for _, who := range []int{anonymous, otherEmployer, otherCandidate, operator, owner} {
				cells = append(cells, cell{who, true})
			}
			var notFound []string // the 404 bodies of this route, as type|title|status
			for _, cl := range cells {
				want, label := row.existing[cl.who], "existing"
				path := row.path
				if row.resource != "" {
					path = strings.ReplaceAll(path, "{id}", w.id(row.resource, cl.existing))
				}
				if !cl.existing {
					want, label = row.missing[cl.who], "missing"
				}
				var body any
				if row.body != nil {
					body = row.body()
				}
				a := c.do(row.method, path, tokens[cl.who], body, row.headers...)
				if a.status != want {
					t.Errorf("%s, %s resource: %d, want %d: %s", principalNames[cl.who], label, a.status, want, a.raw)
				}
				if a.status == http.StatusNotFound {
					notFound = append(notFound, fmt.Sprintf("%v|%v|%v", a.body["type"], a.body["title"], a.body["status"]))
				}
			}
			for _, nf := range notFound {
				if nf != notFound[0] {
					t.Errorf("the 404 answers differ in shape: %q", notFound)
					break
				}
			}
		})
	}
}
