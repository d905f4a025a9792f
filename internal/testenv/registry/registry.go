package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// Access controllers and storage drivers register themselves by name.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Auth selects how the registry authenticates clients.
type Auth int

const (
	// AuthNone lets every client push and pull.
	AuthNone Auth = iota
	// AuthBasic requires HTTP basic credentials on every request, checked
	// against an htpasswd file holding one user.
	AuthBasic
	// AuthToken answers with a Bearer challenge pointing at this package's
	// token server, which exchanges the user's credentials for a JWT scoped
	// to the requested repositories and actions (ghcr.io, GitLab, Docker Hub).
	AuthToken
)

// String returns the name ParseAuth accepts: "none", "basic" or "token".
func (a Auth) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthBasic:
		return "basic"
	case AuthToken:
		return "token"
	default:
		return fmt.Sprintf("Auth(%d)", int(a))
	}
}

// ParseAuth maps "none", "basic" or "token" to an Auth.
func ParseAuth(s string) (Auth, error) {
	for _, a := range []Auth{AuthNone, AuthBasic, AuthToken} {
		if s == a.String() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown auth mode %q (want none, basic or token)", s)
}

// DefaultUsername is the user Start creates when Options.Username is empty.
const DefaultUsername = "gitless"

// Service is the service name the registry announces in its Bearer
// challenge and the audience of the tokens it accepts.
const Service = "gitless-registry"

// issuer is the iss claim the token server signs and the registry trusts.
const issuer = "gitless-testenv-token-server"

// Options configures Start. The zero value is an in-memory registry without
// authentication on a random loopback port.
type Options struct {
	// Auth is the authentication mode; AuthNone by default.
	Auth Auth
	// Addr is the registry's listen address; "127.0.0.1:0" by default. The
	// token server (AuthToken) listens on the same IP, on a random port.
	Addr string
	// RootDir, when set, stores the registry's content on disk under this
	// directory (filesystem driver) instead of in memory, so it survives a
	// restart. Close leaves it in place.
	RootDir string
	// Username and Password are the one user of AuthBasic and AuthToken;
	// DefaultUsername and a random password by default. Unused with AuthNone.
	Username string
	Password string
	// ReadOnlyUsername and ReadOnlyPassword, with AuthToken, are a second user whose
	// tokens grant pull only: a push is refused with 401 insufficient_scope, as ghcr.io
	// refuses a GITHUB_TOKEN without packages: write. Empty: no such user.
	ReadOnlyUsername string
	ReadOnlyPassword string
	// TLS, if not nil, serves HTTPS with a certificate of a CA made for this
	// registry (CACertPEM), optionally requiring client certificates of that CA.
	TLS *TLSOptions
	// Wrap, if not nil, wraps the registry's handler: tests inject faults (a 429 with
	// Retry-After) or count requests with it.
	Wrap func(http.Handler) http.Handler
	// LogWriter receives the distribution registry's logs (logrus text
	// format, info level). Nil discards them. logrus's standard logger is
	// process-global, so the last Start in a process decides for all
	// registries in it.
	LogWriter io.Writer
}

// Registry is a running distribution registry. Close it when done.
type Registry struct {
	// Username and Password are the credentials accepted in AuthBasic and
	// AuthToken modes; empty with AuthNone.
	Username string
	Password string

	auth   Auth
	host   string
	app    *handlers.App
	srv    *http.Server
	served chan struct{}
	tokens *tokenServer
	tmpDir string
	pki    *pki

	closeOnce sync.Once
	closeErr  error
}

// Host returns the registry's "127.0.0.1:PORT", the host part of
// references such as Host()+"/team/app:v1".
func (r *Registry) Host() string { return r.host }

// URL returns the registry's base URL, "http://127.0.0.1:PORT" (https with TLS).
func (r *Registry) URL() string {
	if r.pki != nil {
		return "https://" + r.host
	}
	return "http://" + r.host
}

// Auth returns the registry's authentication mode.
func (r *Registry) Auth() Auth { return r.auth }

// Realm returns the token endpoint URL announced in the Bearer challenge, or
// "" unless the mode is AuthToken.
func (r *Registry) Realm() string {
	if r.tokens == nil {
		return ""
	}
	return r.tokens.realm
}

// TokenRequests returns how many requests the token server has received
// (successful or not); 0 unless the mode is AuthToken.
func (r *Registry) TokenRequests() int {
	if r.tokens == nil {
		return 0
	}
	return int(r.tokens.requests.Load())
}

// Close stops the registry and its token server and removes the temporary
// files Start made (not Options.RootDir). It is safe to call more than once.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if err := shutdown(ctx, r.srv); err != nil {
			errs = append(errs, fmt.Errorf("stopping registry: %w", err))
		}
		<-r.served
		if r.tokens != nil {
			if err := r.tokens.close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping token server: %w", err))
			}
		}
		if r.app != nil {
			if err := r.app.Shutdown(); err != nil {
				errs = append(errs, fmt.Errorf("stopping registry app: %w", err))
			}
		}
		if r.tmpDir != "" {
			if err := os.RemoveAll(r.tmpDir); err != nil {
				errs = append(errs, err)
			}
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// Start runs a distribution registry configured by opts until Close. ctx
// bounds the start only; cancelling it later does not stop the registry.
func Start(ctx context.Context, opts Options) (_ *Registry, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch opts.Auth {
	case AuthNone, AuthBasic, AuthToken:
	default:
		return nil, fmt.Errorf("starting registry: unknown auth mode %v", opts.Auth)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	configureLogging(opts.LogWriter)

	r := &Registry{auth: opts.Auth, served: make(chan struct{})}
	// Until the server runs, Close must not wait for it.
	close(r.served)
	defer func() {
		if err != nil {
			_ = r.Close()
		}
	}()

	if opts.Auth != AuthNone {
		r.Username, r.Password = opts.Username, opts.Password
		if r.Username == "" {
			r.Username = DefaultUsername
		}
		if r.Password == "" {
			r.Password = randomHex(16)
		}
		if r.tmpDir, err = os.MkdirTemp("", "gitless-registry-"); err != nil {
			return nil, fmt.Errorf("starting registry: %w", err)
		}
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("starting registry: %w", err)
	}
	r.host = ln.Addr().String()
	r.srv = newServer(nil)
	if opts.TLS != nil {
		if r.pki, err = newPKI(*opts.TLS); err != nil {
			return nil, fmt.Errorf("starting registry: %w", err)
		}
		ln = tls.NewListener(ln, r.pki.serverConfig)
	}
	// Close the listener if we fail before serving it.
	defer func() {
		if err != nil && ln != nil {
			_ = ln.Close()
		}
	}()

	cfg := &configuration.Configuration{}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.HTTP.Addr = r.host
	cfg.HTTP.Secret = randomHex(32)
	cfg.Storage = configuration.Storage{
		"delete": configuration.Parameters{"enabled": true},
		// The purger would start a goroutine that outlives Close by up to an hour.
		"maintenance": configuration.Parameters{
			"uploadpurging": map[any]any{"enabled": false},
		},
	}
	if opts.RootDir != "" {
		cfg.Storage["filesystem"] = configuration.Parameters{"rootdirectory": opts.RootDir}
	} else {
		cfg.Storage["inmemory"] = configuration.Parameters{}
	}

	switch opts.Auth {
	case AuthBasic:
		path, err := writeHtpasswd(r.tmpDir, r.Username, r.Password)
		if err != nil {
			return nil, fmt.Errorf("starting registry: %w", err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "gitless-registry",
			"path":  path,
		}}
	case AuthToken:
		tokenHost, _, err := net.SplitHostPort(r.host)
		if err != nil {
			return nil, fmt.Errorf("starting registry: %w", err)
		}
		if ip := net.ParseIP(tokenHost); ip == nil || ip.IsUnspecified() {
			// A realm on 0.0.0.0 means nothing to a client; loopback does.
			tokenHost = "127.0.0.1"
		}
		r.tokens, err = startTokenServer(tokenServerOptions{
			addr:             net.JoinHostPort(tokenHost, "0"),
			dir:              r.tmpDir,
			issuer:           issuer,
			service:          Service,
			username:         r.Username,
			password:         r.Password,
			readOnlyUser:     opts.ReadOnlyUsername,
			readOnlyPassword: opts.ReadOnlyPassword,
		})
		if err != nil {
			return nil, fmt.Errorf("starting token server: %w", err)
		}
		cfg.Auth = configuration.Auth{"token": configuration.Parameters{
			"realm":             r.tokens.realm,
			"service":           Service,
			"issuer":            issuer,
			"rootcertbundle":    r.tokens.certPath,
			"signingalgorithms": []any{"ES256"},
		}}
	}

	r.app, err = newApp(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, fmt.Errorf("starting registry: %w", err)
	}
	r.srv.Handler = r.app
	if opts.Wrap != nil {
		r.srv.Handler = opts.Wrap(r.app)
	}
	r.served = serve(r.srv, ln)
	ln = nil // owned by the server now
	return r, nil
}

// newApp turns handlers.NewApp's panics on bad configuration into errors.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("configuring distribution: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

var logMu sync.Mutex

// configureLogging points logrus's standard logger, which distribution logs
// through, at w, or discards it when w is nil.
func configureLogging(w io.Writer) {
	logMu.Lock()
	defer logMu.Unlock()
	if w == nil {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
		return
	}
	logrus.SetOutput(w)
	logrus.SetLevel(logrus.InfoLevel)
}

func writeHtpasswd(dir, username, password string) (string, error) {
	// The minimum cost keeps each authenticated request cheap: the registry
	// checks the hash on every request. This is a test registry.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	path := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(path, []byte(username+":"+string(hash)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing htpasswd: %w", err)
	}
	return path, nil
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

// serve runs srv on ln in the background; the returned channel closes when
// it has stopped.
func serve(srv *http.Server, ln net.Listener) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // http.ErrServerClosed after Shutdown
	}()
	return done
}

func shutdown(_ context.Context, srv *http.Server) error {
	if srv == nil {
		return nil
	}
	// Close, not Shutdown: tests close the registry after their last request, and
	// Shutdown waits up to 5 s for any connection a client dialed but never used
	// (HTTP transports do that under concurrency), failing Close for nothing.
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails, see crypto/rand.Read
	return hex.EncodeToString(b)
}
