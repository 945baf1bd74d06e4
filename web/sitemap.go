package web

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"sync"
	"time"

	"github.com/jobboard/jobboard/readmodels"
)

const (
	// sitemapMaxURLs is the protocol's limit of one sitemap file.
	sitemapMaxURLs = 50000
	// sitemapTTL is how long a built sitemap is served before it is built again: search
	// engines read it rarely, and building it pages through the whole search index.
	sitemapTTL = 10 * time.Minute
)

// sitemapCache keeps the last sitemap built, per host (links are absolute).
type sitemapCache struct {
	mu    sync.Mutex
	host  string
	body  []byte
	built time.Time
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

type urlset struct {
	XMLName xml.Name     `xml:"urlset"`
	Xmlns   string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

// handleSitemap lists the home page and every published job page (newest first, up to the
// protocol's 50,000), from the search index: only published, unexpired, open jobs.
func (s *Server) handleSitemap(w http.ResponseWriter, r *http.Request) {
	s.sitemap.mu.Lock()
	defer s.sitemap.mu.Unlock()
	now := s.cfg.Now()
	if s.sitemap.body == nil || s.sitemap.host != r.Host || now.Sub(s.sitemap.built) > sitemapTTL {
		set := urlset{Xmlns: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: []sitemapURL{{Loc: s.absURL(r, "/")}}}
		p := readmodels.SearchParams{Sort: "newest", Limit: 100}
		for len(set.URLs) < sitemapMaxURLs {
			res, err := s.app.Queries.SearchJobs.Handle(r.Context(), p)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			for _, it := range res.Items {
				u := sitemapURL{Loc: s.absURL(r, jobPath(readmodels.Job{ID: it.ID, Title: it.Title}))}
				if it.PublishedAt != nil {
					u.LastMod = it.PublishedAt.UTC().Format("2006-01-02")
				}
				set.URLs = append(set.URLs, u)
			}
			if res.NextCursor == "" || len(res.Items) == 0 {
				break
			}
			p.Cursor = res.NextCursor
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(set); err != nil {
			s.fail(w, r, err)
			return
		}
		s.sitemap.body, s.sitemap.host, s.sitemap.built = buf.Bytes(), r.Host, now
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=600")
	_, _ = w.Write(s.sitemap.body)
}
