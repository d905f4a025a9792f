package puller

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LocalObjectReference names an object in the puller's namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// Keys of a certSecretRef Secret: Flux's OCIRepository certSecretRef keys (those of a
// kubernetes.io/tls Secret plus ca.crt).
const (
	CertSecretCAKey   = "ca.crt"
	CertSecretCertKey = "tls.crt"
	CertSecretKeyKey  = "tls.key"
)

// ErrTLSConfig: a source's CA or client certificate could not be read or used.
var ErrTLSConfig = errors.New("registry TLS configuration")

// tlsMaterial is a source's registry CA and client certificate, as PEM.
type tlsMaterial struct{ ca, cert, key []byte }

func (m tlsMaterial) empty() bool { return len(m.ca) == 0 && len(m.cert) == 0 }

func (m tlsMaterial) id() string {
	h := sha256.New()
	for _, b := range [][]byte{m.ca, m.cert, m.key} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tlsOf reads the source's certSecretRef or its CA, certificate and key files.
func (p *Puller) tlsOf(ctx context.Context, src Source) (tlsMaterial, error) {
	var m tlsMaterial
	switch {
	case src.CertSecretRef != nil:
		ns, name := p.opts.Namespace, src.CertSecretRef.Name
		s, err := p.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return m, fmt.Errorf("%w: reading certSecretRef Secret %s/%s: %w", ErrTLSConfig, ns, name, err)
		}
		m = tlsMaterial{ca: s.Data[CertSecretCAKey], cert: s.Data[CertSecretCertKey], key: s.Data[CertSecretKeyKey]}
		if m.empty() {
			return m, fmt.Errorf("%w: certSecretRef Secret %s/%s has neither %s nor %s", ErrTLSConfig, ns, name, CertSecretCAKey, CertSecretCertKey)
		}
		if (len(m.cert) == 0) != (len(m.key) == 0) {
			return m, fmt.Errorf("%w: certSecretRef Secret %s/%s: %s and %s go together", ErrTLSConfig, ns, name, CertSecretCertKey, CertSecretKeyKey)
		}
	default:
		for _, f := range []struct {
			path string
			dst  *[]byte
		}{{src.CAFile, &m.ca}, {src.CertFile, &m.cert}, {src.KeyFile, &m.key}} {
			if f.path == "" {
				continue
			}
			b, err := os.ReadFile(f.path)
			if err != nil {
				return m, fmt.Errorf("%w: %w", ErrTLSConfig, err)
			}
			*f.dst = b
		}
	}
	return m, nil
}

// tlsTransport returns the registry transport for a source's CA and client
// certificate: the puller's base transport with that TLS configuration, one per
// distinct configuration (kept, so that connections are reused between polls).
func (p *Puller) tlsTransport(m tlsMaterial) (http.RoundTripper, error) {
	if m.empty() {
		return p.transport, nil
	}
	id := m.id()
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.tlsTransports[id]; t != nil {
		return t, nil
	}
	base, ok := p.transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("%w: a CA or client certificate needs the puller's own transport (Options.Transport is set)", ErrTLSConfig)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(m.ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(m.ca) {
			return nil, fmt.Errorf("%w: the CA holds no PEM certificate", ErrTLSConfig)
		}
		cfg.RootCAs = pool
	}
	if len(m.cert) > 0 {
		pair, err := tls.X509KeyPair(m.cert, m.key)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrTLSConfig, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	t := base.Clone()
	t.TLSClientConfig = cfg
	if p.tlsTransports == nil {
		p.tlsTransports = map[string]http.RoundTripper{}
	}
	p.tlsTransports[id] = t
	return t, nil
}
