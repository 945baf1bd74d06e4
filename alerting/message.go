package alerting

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/jobboard/jobboard/internal/unsubscribe"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/readmodels"
)

// TemplateJobAlert is the template of alert e-mails, instant and digest
// (notifier/templates/job_alert.*.tmpl). Alert e-mails are never essential: the candidate's
// "job_alerts" preference turns them off.
const TemplateJobAlert = "job_alert"

// mailer builds alert messages: links start at baseURL, unsubscribe links are signed.
type mailer struct {
	baseURL string
	signer  *unsubscribe.Signer
}

// name describes an alert's search in a few words, for the subject line.
func name(c readmodels.AlertCriteria) string {
	var parts []string
	if c.Q != "" {
		parts = append(parts, c.Q)
	}
	parts = append(parts, c.Tags...)
	if c.Remote != nil {
		if *c.Remote {
			parts = append(parts, "remote")
		} else {
			parts = append(parts, "on site")
		}
	}
	for _, s := range []string{c.Region, c.Country, strings.ReplaceAll(c.EmploymentType, "_", " "), c.Seniority} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if c.SalaryMin > 0 {
		parts = append(parts, "salary ≥ "+strconv.FormatInt(c.SalaryMin/100, 10)+" "+c.Currency)
	} else if c.Currency != "" {
		parts = append(parts, c.Currency)
	}
	if len(parts) == 0 {
		return "every new job"
	}
	return strings.Join(parts, ", ")
}

// searchQuery is the query string of the home page's search (the parameters of
// GET /v1/jobs) with the alert's parameters.
func searchQuery(c readmodels.AlertCriteria) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", c.Q)
	set("tags", strings.Join(c.Tags, ","))
	if c.Remote != nil {
		v.Set("remote", strconv.FormatBool(*c.Remote))
	}
	set("region", c.Region)
	set("country", c.Country)
	set("employment_type", c.EmploymentType)
	set("seniority", c.Seniority)
	if c.SalaryMin > 0 {
		v.Set("salary_min", strconv.FormatInt(c.SalaryMin, 10))
	}
	set("currency", c.Currency)
	set("company_id", c.CompanyID)
	set("sort", c.Sort)
	return v.Encode()
}

func where(l readmodels.Location) string {
	var parts []string
	if l.Remote {
		parts = append(parts, "remote")
	}
	parts = append(parts, l.Regions...)
	parts = append(parts, l.Countries...)
	return strings.Join(parts, ", ")
}

// message is the e-mail of alert about jobs (total of them in all), under key. since is
// the start of a digest's period ("" for an instant alert).
func (m mailer) message(key string, a readmodels.Alert, jobs []readmodels.SearchItem, total int64, since string) notifier.Message {
	base := strings.TrimRight(m.baseURL, "/")
	unsub := base + "/v1/unsubscribe?token=" + url.QueryEscape(m.signer.Token(unsubscribe.Target{Kind: unsubscribe.KindAlert, ID: a.ID}))
	list := make([]map[string]any, len(jobs))
	for i, j := range jobs {
		list[i] = map[string]any{"ID": j.ID, "Title": j.Title, "Company": j.Company.Name, "Where": where(j.Location)}
	}
	data := map[string]any{
		"Digest": since != "", "Frequency": a.Frequency, "AlertName": name(a.Criteria), "Since": since,
		"Total": total, "More": total - int64(len(jobs)), "Jobs": list,
		"SearchURL": base + "/?" + searchQuery(a.Criteria), "UnsubscribeURL": unsub, "AlertID": a.ID,
	}
	return notifier.Message{
		Key: key, Template: TemplateJobAlert, To: notifier.CandidateRef(a.CandidateID), Data: data,
		Headers: map[string]string{
			// RFC 8058: a mail client's unsubscribe button POSTs List-Unsubscribe=One-Click
			// to the first URL, which acts at once without the candidate signing in.
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}
}
