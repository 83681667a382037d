package automation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// writeBack commits the bumps among outs as one commit; if that fails, each bumped pin fails
// with WriteBackFailed.
func (a *Automation) writeBack(ctx context.Context, ds *v1alpha1.DesiredState, outs []outcome) {
	var bumps []*outcome
	var edits []pins.Edit
	for i := range outs {
		if outs[i].edit != nil {
			bumps = append(bumps, &outs[i])
			edits = append(edits, *outs[i].edit)
		}
	}
	if len(bumps) == 0 {
		return
	}
	fail := func(err error) {
		for _, o := range bumps {
			*o = o.fail(v1alpha1.ReasonWriteBackFailed, "pin %s: %s is the newest %s, but committing it failed: %v; the pin stays at %s and the commit is retried",
				o.pin, o.new, o.policy, err, writeback.ValueInMessage(o.old))
		}
	}
	if a.opts.Writer == nil {
		fail(errors.New("write-back is not configured: start the server with Git credentials that may push to the tracked branch"))
		return
	}
	res, err := a.opts.Writer.Apply(ctx, writeback.Change{Edits: edits, Message: commitMessage(ds.Name, a.opts.Environment, bumps)})
	if err != nil {
		fail(err)
		return
	}
	now := a.opts.Now()
	for _, o := range bumps {
		a.sched.wrote(o.key, o.spec, o.old, o.new, now)
	}
	if res.NoOp {
		return // Git already held the values
	}
	klog.InfoS("Committed version bump", "desiredState", key(ds.Namespace, ds.Name), "commit", res.Commit, "subject", subject(ds.Name, a.opts.Environment, bumps))
	if a.opts.OnCommit != nil {
		a.opts.OnCommit()
	}
}

// commitMessage is the subject line, then one line per edited file and path:
//
//	bump winterlight image 1.1.2 → 1.1.5 in test (~1.1)
//
//	envs/test/winterlight.yaml image.tag: 1.1.2 → 1.1.5
func commitMessage(name, env string, bumps []*outcome) string {
	var body strings.Builder
	for _, b := range bumps {
		fmt.Fprintf(&body, "%s %s: %s → %s\n", b.edit.File, b.edit.Path, writeback.ValueInMessage(b.old), b.new)
	}
	return subject(name, env, bumps) + "\n\n" + body.String()
}

// subject is "bump <name> <pin> <old> → <new> in <env> (<policy>)" for one pin, and
// "bump <name> <pin> <old> → <new> (<policy>), <pin> … in <env>" for several.
func subject(name, env string, bumps []*outcome) string {
	in := ""
	if env != "" {
		in = " in " + env
	}
	change := func(b *outcome) string {
		return fmt.Sprintf("%s %s → %s", b.pin, shortDigest(writeback.ValueInMessage(b.old)), shortDigest(b.new))
	}
	if len(bumps) == 1 {
		return fmt.Sprintf("bump %s %s%s (%s)", name, change(bumps[0]), in, bumps[0].policy)
	}
	parts := make([]string, len(bumps))
	for i, b := range bumps {
		parts[i] = fmt.Sprintf("%s (%s)", change(b), b.policy)
	}
	return fmt.Sprintf("bump %s %s%s", name, strings.Join(parts, ", "), in)
}
