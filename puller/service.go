package puller

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// WebhookSecret says where a webhook token is: a Secret in the puller's namespace (key
// "token"), or a file.
type WebhookSecret struct {
	SecretRef  *LocalObjectReference `json:"secretRef,omitempty"`
	SecretFile string                `json:"secretFile,omitempty"`
}

// WebhookTokenKey is the key of the token in a webhook secretRef Secret.
const WebhookTokenKey = "token"

// Validate checks that exactly one of SecretRef and SecretFile is set; field is the
// name to report ("webhook").
func (w *WebhookSecret) Validate(field string) error {
	switch {
	case w.SecretRef == nil && w.SecretFile == "":
		return fieldErr(field, "set secretRef or secretFile")
	case w.SecretRef != nil && w.SecretFile != "":
		return fieldErr(field, "secretRef and secretFile are exclusive")
	case w.SecretRef != nil:
		if errs := validation.IsDNS1123Subdomain(w.SecretRef.Name); len(errs) > 0 {
			return fieldErr(field+".secretRef.name", "%q: %s", w.SecretRef.Name, strings.Join(errs, "; "))
		}
	}
	return nil
}

// validateService checks the fields of operating the source as a service:
// substitution, registry TLS, webhook.
func (s Source) validateService() error {
	if s.PostBuild != nil {
		if err := s.PostBuild.validate(); err != nil {
			return err
		}
	}
	if s.CertSecretRef != nil {
		if s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" {
			return fieldErr("certSecretRef", "exclusive with caFile, certFile and keyFile")
		}
		if errs := validation.IsDNS1123Subdomain(s.CertSecretRef.Name); len(errs) > 0 {
			return fieldErr("certSecretRef.name", "%q: %s", s.CertSecretRef.Name, strings.Join(errs, "; "))
		}
	}
	switch {
	case s.CertFile != "" && s.KeyFile == "":
		return fieldErr("keyFile", "required with certFile (a client certificate needs its key)")
	case s.KeyFile != "" && s.CertFile == "":
		return fieldErr("certFile", "required with keyFile (a client key needs its certificate)")
	}
	if s.Webhook != nil {
		if err := s.Webhook.Validate("webhook"); err != nil {
			return err
		}
	}
	return nil
}
