package alerting

import (
	"context"
	"strings"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/readmodels"
)

// templateCategories are the e-mail categories (domain.EmailCategory) of the
// non-essential messages: what a recipient's preferences may turn off.
var templateCategories = map[string]domain.EmailCategory{
	TemplateJobAlert: domain.EmailJobAlerts,
	notifier.TemplateApplicationStatusChanged: domain.EmailApplicationUpdates,
	notifier.TemplateApplicationReceived:      domain.EmailApplicationsReceived,
	notifier.TemplateListingPublished:         domain.EmailListingNotices,
	notifier.TemplateListingExpiring:          domain.EmailListingNotices,
	notifier.TemplateListingExpired:           domain.EmailListingNotices,
}

// Suppressed is the notifier sender's SenderConfig.Suppressed: a non-essential message is
// canceled when its recipient (a candidate or company reference) turned its category off
// (GET/PUT …/me/email-preferences, or an unsubscribe link). Preferences are read when the
// message is sent, so a change applies to what is still queued.
func Suppressed(store *readmodels.Store) func(ctx context.Context, p notifier.SuppressParams) (bool, error) {
	return func(ctx context.Context, p notifier.SuppressParams) (bool, error) {
		cat, ok := templateCategories[p.Template]
		if p.Essential || !ok {
			return false, nil
		}
		_, id, ok := strings.Cut(p.Recipient, ":")
		if !ok || !(strings.HasPrefix(p.Recipient, "candidate:") || strings.HasPrefix(p.Recipient, "company:")) {
			return false, nil
		}
		prefs, err := store.GetEmailPreferences(ctx, id)
		if err != nil {
			return false, err
		}
		for _, off := range prefs.Off {
			if off == string(cat) {
				return true, nil
			}
		}
		return false, nil
	}
}
