package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// TLSOptions configures a registry served over HTTPS.
type TLSOptions struct {
	// Hosts are names and addresses the server certificate is valid for, besides
	// 127.0.0.1, ::1 and localhost (a name a test proxy resolves, say).
	Hosts []string
	// RequireClientCert refuses clients without a certificate of the registry's CA
	// (ClientCertPEM): mutual TLS.
	RequireClientCert bool
}

// pki is a registry's CA, its server certificate and a client certificate.
type pki struct {
	caPEM, clientCertPEM, clientKeyPEM []byte
	serverConfig                       *tls.Config
}

// CACertPEM is the CA that signed the registry's certificate (nil without TLS).
func (r *Registry) CACertPEM() []byte {
	if r.pki == nil {
		return nil
	}
	return r.pki.caPEM
}

// ClientCertPEM returns a client certificate and key of the registry's CA, which a
// registry with TLSOptions.RequireClientCert accepts (nil without TLS).
func (r *Registry) ClientCertPEM() (cert, key []byte) {
	if r.pki == nil {
		return nil, nil
	}
	return r.pki.clientCertPEM, r.pki.clientKeyPEM
}

func newPKI(o TLSOptions) (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gitless test registry CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, hosts []string) ([]byte, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
	}
	srvCert, srvKey, err := issue(2, "registry", x509.ExtKeyUsageServerAuth, append([]string{"127.0.0.1", "::1", "localhost"}, o.Hosts...))
	if err != nil {
		return nil, err
	}
	cliCert, cliKey, err := issue(3, "client", x509.ExtKeyUsageClientAuth, nil)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		return nil, err
	}
	p := &pki{
		caPEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		clientCertPEM: cliCert, clientKeyPEM: cliKey,
		serverConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	if o.RequireClientCert {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		p.serverConfig.ClientCAs = pool
		p.serverConfig.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return p, nil
}
