package view

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Done decides, for each state of a followed application, whether following ends: true to stop,
// an error to stop and fail.
type Done func(ds *v1alpha1.DesiredState) (bool, error)

// Follow draws an application to w and redraws it on every change, watching it (field selector
// metadata.name), until done says stop or ctx ends. It returns the last state seen; when ctx ends
// first, the error is ctx's. A terminal gets the tree redrawn in place with a progress line under
// it; anything else gets the tree once, a line per change of progress and the final tree.
func (t Terminal) Follow(ctx context.Context, client versioned.Interface, namespace, name string, w io.Writer, done Done) (*v1alpha1.DesiredState, error) {
	ds, err := Get(ctx, client, namespace, name)
	if err != nil {
		return nil, err
	}
	f := &frame{t: t, w: w}
	ch := &changes{client: client, namespace: namespace, name: name, rv: ds.ResourceVersion}
	defer ch.stop()
	for {
		f.draw(ds)
		if stop, err := done(ds); stop || err != nil {
			f.finish(ds)
			return ds, err
		}
		next, err := ch.next(ctx)
		if err != nil {
			f.finish(ds)
			return ds, err
		}
		ds = next
	}
}

// changes is a watch on one DesiredState that survives the server ending it: it watches again
// from the last resourceVersion seen, or reads the object afresh when that is too old.
type changes struct {
	client          versioned.Interface
	namespace, name string
	rv              string
	w               watch.Interface
}

// next returns the DesiredState's next state; an error when ctx ends (ctx's), the watch is
// refused, or the DesiredState is deleted.
func (c *changes) next(ctx context.Context) (*v1alpha1.DesiredState, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.w == nil {
			w, err := c.client.GitopsV1alpha1().DesiredStates(c.namespace).Watch(ctx, metav1.ListOptions{
				FieldSelector:       fields.OneTermEqualSelector("metadata.name", c.name).String(),
				ResourceVersion:     c.rv,
				AllowWatchBookmarks: true,
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, options.Explain(err, "watch", "desiredstates", c.namespace, c.name)
			}
			c.w = w
		}
		var (
			ev watch.Event
			ok bool
		)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok = <-c.w.ResultChan():
		}
		if !ok { // the server ended the watch: watch again, without hammering it
			c.stop()
			pause(ctx)
			continue
		}
		switch ev.Type {
		case watch.Error:
			c.stop()
			err := apierrors.FromObject(ev.Object)
			if !apierrors.IsGone(err) && !apierrors.IsResourceExpired(err) {
				return nil, options.Explain(err, "watch", "desiredstates", c.namespace, c.name)
			}
			ds, err := Get(ctx, c.client, c.namespace, c.name)
			if err != nil {
				return nil, err
			}
			c.rv = ds.ResourceVersion
			return ds, nil
		case watch.Deleted:
			return nil, fmt.Errorf("desiredstate %s/%s was deleted: its file is gone from Git", c.namespace, c.name)
		}
		ds, isObj := ev.Object.(*v1alpha1.DesiredState)
		if !isObj {
			continue
		}
		c.rv = ds.ResourceVersion
		if ev.Type == watch.Bookmark || ds.Name != c.name {
			continue
		}
		return ds, nil
	}
}

func (c *changes) stop() {
	if c.w != nil {
		c.w.Stop()
		c.w = nil
	}
}

func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// frame is what Follow has drawn so far.
type frame struct {
	t        Terminal
	w        io.Writer
	lines    int    // lines drawn on a terminal, to erase before a redraw
	shown    string // what is on the terminal, or the tree last printed elsewhere
	progress string // the progress line last printed (not on a terminal)
}

func (f *frame) draw(ds *v1alpha1.DesiredState) {
	tree, progress := f.t.TreeString(ds), Progress(ds)
	if f.t.TTY {
		text := tree
		if progress != "" {
			text += Cut(progress, f.t.Width) + "\n"
		}
		if text == f.shown {
			return
		}
		if f.lines > 0 {
			fmt.Fprintf(f.w, "\x1b[%dA\r\x1b[J", f.lines) // up to the first line drawn, erase down
		}
		io.WriteString(f.w, text)
		f.shown, f.lines = text, visualLines(text, f.t.Width)
		return
	}
	if f.shown == "" {
		io.WriteString(f.w, tree)
		f.shown = tree
	}
	if progress != "" && progress != f.progress {
		fmt.Fprintln(f.w, progress)
	}
	f.progress = progress
}

// visualLines counts the terminal rows text takes, wrapped at width, colour codes left out.
func visualLines(text string, width int) int {
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		cols := utf8.RuneCountInString(ansi.ReplaceAllString(l, ""))
		n += max(1, (cols+width-1)/max(width, 1))
	}
	return n
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// finish prints the final tree where lines were appended, if it changed since it was printed.
func (f *frame) finish(ds *v1alpha1.DesiredState) {
	if f.t.TTY {
		return
	}
	if tree := f.t.TreeString(ds); tree != f.shown {
		io.WriteString(f.w, tree)
		f.shown = tree
	}
}
