package puller

import (
	"fmt"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Tenancy is the multi-tenancy lockdown of a puller (Flux's --default-service-account
// and --no-cross-namespace-refs are the model). A source acts as a service account when
// it names one or when DefaultServiceAccount is set: every dry-run, apply, list and
// delete of its objects, and the read of its pull secret, then impersonate that
// account, whose RBAC bounds what the source can do.
type Tenancy struct {
	// DefaultServiceAccount is impersonated by every source without
	// serviceAccountName, in the source's targetNamespace. A source without either
	// is refused: it would act with the puller's own rights.
	DefaultServiceAccount string `json:"defaultServiceAccount,omitempty"`
	// AllowCrossNamespaceRefs lets a source's pullSecret name a Secret in another
	// namespace than the source's own.
	AllowCrossNamespaceRefs bool `json:"allowCrossNamespaceRefs,omitempty"`
}

// Identity is who a source acts as, and where its references resolve.
type Identity struct {
	// ServiceAccount is "NAMESPACE/NAME", impersonated; "" is the puller's own identity.
	ServiceAccount string
	// Namespace is the source's namespace: its service account's, else the puller's.
	// A pull secret named without a namespace is read from here.
	Namespace string
}

// Identity resolves who src acts as under the lockdown t, in a puller whose namespace
// is pullerNS, and checks its pull secret reference. Its errors are *FieldError
// naming the source's field (matching ErrInvalidSource).
//
// A serviceAccountName "NAME" is the account of that name in targetNamespace: a source
// with neither targetNamespace nor the "NAMESPACE/NAME" form is refused (it would
// otherwise act as an account of the puller's own namespace, whose groups may hold
// the puller's rights).
func (t Tenancy) Identity(src Source, pullerNS string) (Identity, error) {
	name, field := src.ServiceAccountName, "serviceAccountName"
	if name == "" && t.DefaultServiceAccount != "" {
		name, field = t.DefaultServiceAccount, "targetNamespace"
	}
	id := Identity{Namespace: pullerNS}
	switch {
	case name == "":
	case strings.Contains(name, "/"):
		ns, n, _ := strings.Cut(name, "/")
		id = Identity{ServiceAccount: ns + "/" + n, Namespace: ns}
	case field == "targetNamespace" && src.TargetNamespace == pullerNS:
		// A tenant here would get the tenant's Role in the puller's own namespace: its
		// Secrets, its configuration, its Deployment, and pods running as the puller.
		return id, fieldErr(field, "%q is the puller's own namespace: defaultServiceAccount %q is not impersonated there (a tenant would reach the puller's Secrets and configuration); a platform source names its account as serviceAccountName: NAMESPACE/NAME", pullerNS, name)
	case src.TargetNamespace != "":
		id = Identity{ServiceAccount: src.TargetNamespace + "/" + name, Namespace: src.TargetNamespace}
	case field == "targetNamespace":
		return id, fieldErr(field, "required: defaultServiceAccount %q is impersonated in the source's targetNamespace (or give serviceAccountName as NAMESPACE/NAME)", name)
	default:
		return id, fieldErr(field, "%q: the account lives in the tenant's namespace: set targetNamespace, or write NAMESPACE/NAME", name)
	}
	if ns, _, ok := strings.Cut(src.PullSecret, "/"); ok && ns != id.Namespace && !t.AllowCrossNamespaceRefs {
		return id, fieldErr("pullSecret", "%q is in namespace %s, not the source's (%s); cross-namespace references need allowCrossNamespaceRefs", src.PullSecret, ns, id.Namespace)
	}
	return id, nil
}

// kubeAs returns a client that acts as the service account sa ("NAMESPACE/NAME"), or
// the puller's own client for "".
func (p *Puller) kubeAs(sa string) (kubernetes.Interface, error) {
	if sa == "" {
		return p.kube, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.tenants[sa]; c != nil {
		return c, nil
	}
	ns, name, _ := strings.Cut(sa, "/")
	cfg := rest.CopyConfig(p.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("impersonating %s: %w", sa, err)
	}
	if p.tenants == nil {
		p.tenants = map[string]kubernetes.Interface{}
	}
	p.tenants[sa] = c
	return c, nil
}
