package api

import (
	_ "embed"
	"net/http"

	"github.com/gorilla/mux"
)

// openAPIDocument is the hand-written OpenAPI 3.1 description of every route; a test checks
// that each registered route is in it.
//
//go:embed openapi.json
var openAPIDocument []byte

// registerDocsRoutes serves the OpenAPI document.
func (s *Server) registerDocsRoutes(v1 *mux.Router) {
	v1.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPIDocument)
	}).Methods(http.MethodGet, http.MethodHead)
}
