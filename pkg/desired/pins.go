package desired

import (
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
)

// readPins reads the current value of every version pin (see pkg/pins): from the DesiredState
// itself for field pins, from the named YAML file for file pins. A pin that cannot be read
// carries a message.
func readPins(files Files, s *v1alpha1.DesiredState) []v1alpha1.PinStatus {
	var out []v1alpha1.PinStatus
	for _, pin := range s.Spec.Versions {
		st := v1alpha1.PinStatus{Name: pin.Name}
		if v, err := pins.Current(files, s, pin); err != nil {
			st.Message = err.Error()
		} else {
			st.Value = v
		}
		out = append(out, st)
	}
	return out
}
