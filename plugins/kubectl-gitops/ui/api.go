package ui

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/diff"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/promote"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/syncapp"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Every answer is JSON from encoding/json (which also escapes <, > and &): the page puts cluster
// text into the document only as text.

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers with the cluster's own status code (403 when RBAC refuses the user) and the
// plugin's one-line explanation.
func apiError(w http.ResponseWriter, err error, verb, resource, ns, name string) {
	code := http.StatusBadGateway
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code != 0 {
		code = int(status.Status().Code)
	}
	writeJSON(w, code, map[string]string{"error": options.Explain(err, verb, resource, ns, name).Error()})
}

func (s *Server) apps(w http.ResponseWriter, _ *http.Request) {
	list, err := s.live.apps.List(labels.Everything())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	out := make([]*appSummary, 0, len(list))
	for _, ds := range list {
		out = append(out, summarize(ds))
	}
	slices.SortFunc(out, func(a, b *appSummary) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, map[string]any{"scope": scopeName(s.cfg.Namespace), "apps": out})
}

// appDetail is the app page: the DesiredState, its history and what the user may do with it.
type appDetail struct {
	Summary     *appSummary            `json:"summary"`
	App         *v1alpha1.DesiredState `json:"app"`
	History     []v1alpha1.SyncRecord  `json:"history"`
	HistoryErr  string                 `json:"historyError,omitempty"`
	Can         permissions            `json:"can"`
	Promotions  []*promotionSummary    `json:"promotions"`
	DefaultFrom string                 `json:"defaultFrom"`
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	ds, err := s.live.apps.DesiredStates(ns).Get(name)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("desiredstate %q not found in namespace %s", name, ns)})
		return
	}
	ds = ds.DeepCopy()
	ds.ManagedFields = nil
	d := appDetail{Summary: summarize(ds), App: ds, History: []v1alpha1.SyncRecord{}, Promotions: []*promotionSummary{}}
	if ds.Spec.Promotion != nil {
		d.DefaultFrom = ds.Spec.Promotion.From
	}
	h, err := s.cfg.Gitops.GitopsV1alpha1().DesiredStates(ns).GetHistory(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		d.HistoryErr = options.Explain(err, "get", "desiredstates/history", ns, name).Error()
	} else {
		d.History = h.Items
	}
	d.Can = s.permissions(r.Context(), ns, name)
	if ps, err := s.live.promotions.Promotions(ns).List(labels.Everything()); err == nil {
		for _, p := range ps {
			if p.Spec.DesiredState == name {
				d.Promotions = append(d.Promotions, summarizePromotion(p))
			}
		}
		slices.SortFunc(d.Promotions, func(a, b *promotionSummary) int { return cmp.Compare(b.Created, a.Created) })
	}
	writeJSON(w, http.StatusOK, d)
}

// objectDiff is one object a sync would change, as unified diff text (Secret values arrive
// masked by the API).
type objectDiff struct {
	Path    string `json:"path"`
	Action  string `json:"action"`
	Message string `json:"message,omitempty"`
	Text    string `json:"text"`
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	ns, name, revision := r.PathValue("ns"), r.PathValue("name"), r.URL.Query().Get("revision")
	d, err := diff.Get(r.Context(), s.cfg.Gitops, ns, name, revision)
	if err != nil {
		apiError(w, err, "get", "desiredstates/diff", ns, name)
		return
	}
	out := []objectDiff{}
	for _, res := range d.Resources {
		if res.Action == "None" && res.Message == "" {
			continue
		}
		text, err := diff.Unified([]v1alpha1.ResourceDiff{res})
		if err != nil {
			text = "cannot show: " + err.Error()
		}
		out = append(out, objectDiff{Path: diff.Path(res), Action: res.Action, Message: res.Message, Text: text})
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": d.Revision, "objects": out})
}

// syncRequest is the body of a sync or rollback from the page.
type syncRequest struct {
	Revision        string `json:"revision"`
	PauseAutomation bool   `json:"pauseAutomation"`
}

// readBody decodes a small JSON body; the Content-Type must say JSON, which a cross-site form
// cannot send without a preflight.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send application/json"})
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read the request: " + err.Error()})
		return false
	}
	return true
}

// sync asks desiredstates/sync as the user: the cluster's RBAC decides, exactly as for
// kubectl gitops sync and rollback.
func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	var req syncRequest
	if !readBody(w, r, &req) {
		return
	}
	body := syncapp.Request{Namespace: ns, Name: name, Revision: req.Revision, PauseAutomation: req.PauseAutomation}.Body()
	answer, err := s.cfg.Gitops.GitopsV1alpha1().DesiredStates(ns).Sync(r.Context(), name, body, metav1.CreateOptions{})
	if err != nil {
		apiError(w, err, "create", "desiredstates/sync", ns, name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": answer.Message})
}

// promoteRequest is a promotion from the page: the source environment, exact values
// (PIN=VALUE) and whether to go through a branch.
type promoteRequest struct {
	From      string   `json:"from"`
	Versions  []string `json:"versions"`
	ViaBranch bool     `json:"viaBranch"`
}

func (s *Server) plan(w http.ResponseWriter, ns, name string, req promoteRequest) ([]promote.PlannedPin, *v1alpha1.Promotion, bool) {
	ds, err := s.live.apps.DesiredStates(ns).Get(name)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("desiredstate %q not found in namespace %s", name, ns)})
		return nil, nil, false
	}
	pins, p, err := promote.Plan(ds, req.From, req.Versions, req.ViaBranch)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
		return nil, nil, false
	}
	return pins, p, true
}

// promotePlan shows the pin changes a promotion would make, before the user confirms.
func (s *Server) promotePlan(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := promoteRequest{From: q.Get("from"), Versions: q["version"], ViaBranch: q.Get("viaBranch") == "true"}
	pins, p, ok := s.plan(w, r.PathValue("ns"), r.PathValue("name"), req)
	if !ok {
		return
	}
	from := req.From
	if p != nil {
		from = p.Spec.From
	}
	writeJSON(w, http.StatusOK, map[string]any{"pins": pins, "from": from, "noop": p == nil})
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	var req promoteRequest
	if !readBody(w, r, &req) {
		return
	}
	_, p, ok := s.plan(w, ns, name, req)
	if !ok {
		return
	}
	if p == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "nothing to promote: this environment is already at these versions"})
		return
	}
	created, err := promote.Create(r.Context(), s.cfg.Gitops.GitopsV1alpha1().Promotions(ns), p)
	if err != nil {
		apiError(w, err, "create", "promotions", ns, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": created, "namespace": ns})
}

func (s *Server) promotions(w http.ResponseWriter, _ *http.Request) {
	list, err := s.live.promotions.List(labels.Everything())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	out := make([]*promotionSummary, 0, len(list))
	for _, p := range list {
		out = append(out, summarizePromotion(p))
	}
	slices.SortFunc(out, func(a, b *promotionSummary) int { return cmp.Compare(b.Created, a.Created) })
	writeJSON(w, http.StatusOK, map[string]any{"promotions": out})
}

func (s *Server) promotion(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	p, err := s.live.promotions.Promotions(ns).Get(name)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("promotion %q not found in namespace %s", name, ns)})
		return
	}
	p = p.DeepCopy()
	p.ManagedFields = nil
	writeJSON(w, http.StatusOK, map[string]any{"summary": summarizePromotion(p), "promotion": p})
}

// events streams changes as server-sent events until the page goes away; a comment line every
// 20 s keeps idle connections open through proxies and tells a dead page from a quiet one.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	ch := s.live.subscribe()
	defer s.live.unsubscribe(ch)
	_, _ = io.WriteString(w, ": connected\n\n")
	flusher.Flush()
	keepAlive := time.NewTicker(20 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		case data, open := <-ch:
			if !open {
				return // lagged too far: the page reconnects and reloads
			}
			_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
		}
		flusher.Flush()
	}
}
