package automation

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// maxMessage keeps a condition's message under the API's limit of 32768 characters.
const maxMessage = 32000

// record keeps the latest outcome of each checked pin of DesiredState k.
func (a *Automation) record(k string, outs []outcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.results[k]
	if m == nil {
		m = map[string]outcome{}
		a.results[k] = m
	}
	for _, o := range outs {
		o.edit = nil
		m[o.pin] = o
	}
}

// condition is the VersionsUpToDate condition from the latest outcomes of ds's automated pins,
// or nil when none has been checked (or none is automated any more).
func (a *Automation) condition(ds *v1alpha1.DesiredState) *metav1.Condition {
	a.mu.Lock()
	results := a.results[key(ds.Namespace, ds.Name)]
	var outs []outcome
	for _, pin := range automated(ds) {
		if o, ok := results[pin.Name]; ok {
			outs = append(outs, o)
		}
	}
	a.mu.Unlock()
	return conditionFor(outs)
}

// conditionFor is True with every pin's message when none failed, else False with the first
// failure's reason and every failure's message.
func conditionFor(outs []outcome) *metav1.Condition {
	if len(outs) == 0 {
		return nil
	}
	var ok, failed []string
	reason := ""
	for _, o := range outs {
		if o.failed {
			if reason == "" {
				reason = o.reason
			}
			failed = append(failed, o.message)
		} else {
			ok = append(ok, o.message)
		}
	}
	c := &metav1.Condition{Type: v1alpha1.ConditionVersionsUpToDate, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonUpToDate, Message: strings.Join(ok, "; ")}
	if len(failed) > 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, reason, strings.Join(failed, "; ")
	}
	if len(c.Message) > maxMessage {
		c.Message = strings.ToValidUTF8(c.Message[:maxMessage], "") + "…"
	}
	return c
}

// conditionText identifies a condition's content, "" for none.
func conditionText(c *metav1.Condition) string {
	if c == nil {
		return ""
	}
	return string(c.Status) + "\x00" + c.Reason + "\x00" + c.Message
}

// setCondition writes the DesiredState's condition when it differs from what it holds.
func (a *Automation) setCondition(ctx context.Context, namespace, name string) error {
	ds, ok := a.opts.Reader.Get(namespace, name)
	if !ok {
		return nil // deleted meanwhile
	}
	k := key(namespace, name)
	want := a.condition(ds)
	text := conditionText(want)
	a.mu.Lock()
	written, known := a.written[k]
	a.mu.Unlock()
	// The cache can lag behind our own last write; only when both agree is there nothing to do.
	if conditionText(meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionVersionsUpToDate)) == text && (!known || written == text) {
		return nil
	}
	_, err := a.opts.Statuses.Update(ctx, namespace, name, func(st *v1alpha1.DesiredStateStatus) {
		if want == nil {
			meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionVersionsUpToDate)
			return
		}
		c := *want
		c.LastTransitionTime = metav1.NewTime(a.opts.Now())
		meta.SetStatusCondition(&st.Conditions, c)
	})
	if err != nil {
		return fmt.Errorf("record the %s condition of DesiredState %s: %w", v1alpha1.ConditionVersionsUpToDate, k, err)
	}
	a.mu.Lock()
	a.written[k] = text
	a.mu.Unlock()
	return nil
}
