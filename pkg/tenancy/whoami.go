package tenancy

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WhoAmI returns the user name and groups the cluster sees the server as (a SelfSubjectReview),
// so that the RoleBindings naming the server are recognised whatever its ServiceAccount is called.
func WhoAmI(ctx context.Context, kube kubernetes.Interface) (string, []string, error) {
	res, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("ask the cluster who the server is (SelfSubjectReview): %w", err)
	}
	return res.Status.UserInfo.Username, res.Status.UserInfo.Groups, nil
}
