package ui

import (
	"embed"
	"html/template"
	"net/http"
)

//go:embed static
var staticFS embed.FS

//go:embed page.html
var pageHTML string

// page is the one HTML document; html/template escapes the little it fills in.
var page = template.Must(template.New("page").Parse(pageHTML))

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]string{"Scope": scopeName(s.cfg.Namespace)})
}
