package ui

import (
	"embed"
	"net/http"
)

//go:embed static
var staticFS embed.FS

// page is the one HTML document. It holds no data (the script asks the API, with the session),
// so it is the same for every request and may be served before a session exists.
//
//go:embed page.html
var page []byte

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}
