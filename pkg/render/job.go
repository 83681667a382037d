package render

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render/helm"
	"github.com/kube-gitops/kube-gitops/pkg/render/kustomize"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
)

// ServeWorker runs this process as a render worker until the server closes its stdin, and
// returns the exit code: gitops-apiserver's hidden `render-worker` mode (worker.Command), or a
// test binary's TestMain.
func ServeWorker() int {
	// A worker only renders: no HTTP and no git program, whatever a kustomization or chart asks
	// for (the check before each kustomize build is the first line, this the guarantee).
	kustomize.ForbidNetwork()
	return worker.Main(renderJob)
}

// job is what the server sends a worker: the request without its files (the worker reads those
// from the server as it needs them), a published chart already downloaded, and the options that
// shape the output.
type job struct {
	Name, Namespace string
	Spec            []byte // v1alpha1.DesiredStateSpec as JSON, its canonical form
	Chart           *helm.Archive
	KubeVersion     string
	APIVersions     []string
	MaxOutputBytes  int64
}

func encodeJob(req Request, chart *helm.Archive, opts Options) ([]byte, error) {
	spec, err := json.Marshal(req.Spec)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = gob.NewEncoder(&b).Encode(job{Name: req.Name, Namespace: req.Namespace, Spec: spec, Chart: chart,
		KubeVersion: opts.KubeVersion, APIVersions: opts.APIVersions, MaxOutputBytes: opts.MaxOutputBytes})
	return b.Bytes(), err
}

// renderJob renders in a worker, exactly as a render in the server would, with no time limit of
// its own (the server kills a worker over its time budget: a goroutine could not be stopped)
// and no network.
func renderJob(payload []byte, files fs.FS) ([]byte, error) {
	var j job
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&j); err != nil {
		return nil, err
	}
	var spec v1alpha1.DesiredStateSpec
	if err := json.Unmarshal(j.Spec, &spec); err != nil {
		return nil, err
	}
	r := newInProcess(Options{KubeVersion: j.KubeVersion, APIVersions: j.APIVersions, MaxOutputBytes: j.MaxOutputBytes,
		HTTPClient: &http.Client{Transport: offline{}}})
	objs, err := r.renderWith(context.Background(), Request{Name: j.Name, Namespace: j.Namespace, Spec: spec, Files: files}, j.Chart)
	if err != nil {
		return nil, err
	}
	return encodeObjects(objs)
}

// offline is a worker's HTTP transport: published charts come downloaded, so a request means a
// bug, and it must not reach the network.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("a render worker has no network access")
}

// encodeObjects writes objects as a JSON array in which every float64 keeps a fraction or an
// exponent, so that decodeObjects gives back the same Go types (int64 for integers, float64 for
// floats) as the render made: a float 2.0 stays a float, not the integer 2.
func encodeObjects(objs []*unstructured.Unstructured) ([]byte, error) {
	items := make([]any, len(objs))
	for i, o := range objs {
		items[i] = markFloats(o.Object)
	}
	return json.Marshal(items)
}

func markFloats(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = markFloats(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = markFloats(e)
		}
		return out
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return v // not JSON: Marshal says so
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return json.Number(s)
	}
	return v
}

// decodeObjects reads what encodeObjects wrote, as the renderers decode objects.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var items []any
	if err := utiljson.Unmarshal(data, &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil // as the renderers return no objects
	}
	out := make([]*unstructured.Unstructured, len(items))
	for i, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, errors.New("an item is not an object")
		}
		out[i] = &unstructured.Unstructured{Object: obj}
	}
	return out, nil
}
