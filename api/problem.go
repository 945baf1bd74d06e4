package api

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details document. Errors of every route are written as one.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists every field at fault, for invalid input.
	Errors []FieldError `json:"errors,omitempty"`
	// Checks carries the state of each dependency, on /readyz.
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// FieldError names one field at fault, as a JSON path ("salary.min", "tags[3]").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemTypeBase prefixes the type URI of every problem; the OpenAPI document lists them.
const problemTypeBase = "https://jobboard.dev/problems/"

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as application/json with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
