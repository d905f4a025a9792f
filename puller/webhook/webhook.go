// Package webhook is gitless-puller's webhook receiver: POST /hook/<source> from a
// registry or a CI system asks for an immediate sync of that source, once the request
// proves it knows the source's token.
//
// Three ways of proving it are accepted, as the senders make them:
//
//   - GitHub: X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body, hex>, for the
//     registry_package and package events (ping is answered, and triggers nothing);
//   - GitLab: X-Gitlab-Token: <token>;
//   - generic: X-Signature: sha256=<HMAC-SHA256 of the body, hex> (Flux's generic-hmac
//     receiver; sha512= too).
//
// A request without one of them, or with a wrong one, gets 401 and triggers nothing;
// an unknown source 404; a body over the cap 413. Tokens are compared in constant time
// and never logged.
//
//	h := webhook.NewHandler(webhook.Options{
//		Token:   func(ctx context.Context, source string) ([]byte, error) { ... },
//		Trigger: func(ctx context.Context, source string) error { ... },
//	})
//	http.ListenAndServe(":9292", h)
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultMaxBody is the largest request body read (GitHub's package events are a few
// KiB).
const DefaultMaxBody = 1 << 20

// ErrUnknownSource is what Options.Token returns for a source that is not configured.
var ErrUnknownSource = errors.New("unknown source")

// ErrNoToken is what Options.Token returns for a source without a webhook token.
var ErrNoToken = errors.New("no webhook token configured")

// Options configures the handler.
type Options struct {
	// Token returns the token of a source, ErrUnknownSource or ErrNoToken.
	Token func(ctx context.Context, source string) ([]byte, error)
	// Trigger asks for a sync of the source now.
	Trigger func(ctx context.Context, source string) error
	// MaxBody caps the body; 0 means DefaultMaxBody.
	MaxBody int64
	// Logger receives a record per request; nil discards them.
	Logger *slog.Logger
}

// Prefix is the path of the hooks: Prefix + source name.
const Prefix = "/hook/"

type handler struct{ o Options }

// NewHandler returns the receiver.
func NewHandler(o Options) http.Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{o: o}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || source == "" || len(validation.IsDNS1123Label(source)) > 0 {
		http.Error(w, "want POST "+Prefix+"<source>", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "want POST", http.StatusMethodNotAllowed)
		return
	}
	log := h.o.Logger.With("source", source, "remote", r.RemoteAddr)
	code, msg := h.serve(r, source)
	if code >= 400 {
		log.WarnContext(r.Context(), "webhook refused", "status", code, "reason", msg)
		if code == http.StatusUnauthorized {
			// One answer for every refusal, the reason in the puller's log only: an
			// unknown source, one without a token and a wrong signature look the
			// same, so that nobody without the token learns the sources' names.
			msg = unauthorized
		}
		http.Error(w, msg, code)
		return
	}
	log.InfoContext(r.Context(), "webhook", "status", code, "result", msg)
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// unauthorized is the body of every 401.
const unauthorized = "unauthorized: no valid signature for this source (X-Hub-Signature-256, X-Gitlab-Token or X-Signature: sha256=<HMAC>); the puller's log says why"

func (h *handler) serve(r *http.Request, source string) (int, string) {
	ctx := r.Context()
	token, tokenErr := h.o.Token(ctx, source)
	// The signature headers: GitHub's, the generic one (HMACs of the body), GitLab's
	// token (a header alone).
	hub, generic, gitlab := r.Header.Get("X-Hub-Signature-256"), r.Header.Get("X-Signature"), r.Header.Get("X-Gitlab-Token")
	var sig *bodyMAC
	if tokenErr == nil && len(token) > 0 {
		switch {
		case hub != "":
			sig = newBodyMAC(hub, token)
		case gitlab != "":
		case generic != "":
			sig = newBodyMAC(generic, token)
		}
	}
	// The body is read for every request alike, to its cap (413 over it, for a source
	// that exists as for one that does not), but never kept: it goes through the HMAC
	// its signature header asks for, or nowhere, so that a request nobody can
	// authenticate costs no memory however many are held open.
	var dst io.Writer = io.Discard
	if sig != nil && sig.mac != nil {
		dst = sig.mac
	}
	if _, err := io.Copy(dst, http.MaxBytesReader(nil, r.Body, h.o.MaxBody)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.o.MaxBody)
		}
		return http.StatusBadRequest, "reading the body failed"
	}
	switch {
	case errors.Is(tokenErr, ErrUnknownSource):
		return http.StatusUnauthorized, fmt.Sprintf("no source %q", source)
	case errors.Is(tokenErr, ErrNoToken):
		return http.StatusUnauthorized, fmt.Sprintf("source %q has no webhook token configured", source)
	case tokenErr != nil:
		// Not 503, which only a source with a token can give: the reason is logged.
		return http.StatusUnauthorized, fmt.Sprintf("source %q: its webhook token cannot be read now: %v", source, tokenErr)
	case len(token) == 0:
		return http.StatusUnauthorized, fmt.Sprintf("source %q has an empty webhook token", source)
	}
	switch {
	case hub != "":
		if !sig.valid() {
			return http.StatusUnauthorized, "X-Hub-Signature-256 does not match"
		}
		switch event := r.Header.Get("X-GitHub-Event"); event {
		case "ping":
			return http.StatusOK, "pong"
		case "registry_package", "package":
		default:
			return http.StatusAccepted, fmt.Sprintf("GitHub event %q ignored: only registry_package and package trigger a sync", event)
		}
	case gitlab != "":
		if subtle.ConstantTimeCompare([]byte(gitlab), token) != 1 {
			return http.StatusUnauthorized, "X-Gitlab-Token does not match"
		}
	case generic != "":
		if !sig.valid() {
			return http.StatusUnauthorized, "X-Signature does not match"
		}
	default:
		return http.StatusUnauthorized, "no signature: send X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab) or X-Signature: sha256=<HMAC> (generic)"
	}
	if err := h.o.Trigger(ctx, source); err != nil {
		return http.StatusServiceUnavailable, "the sync could not be requested: " + err.Error()
	}
	return http.StatusAccepted, fmt.Sprintf("sync of %s requested", source)
}

// bodyMAC is the HMAC a signature header ("sha256=<hex>" or "sha512=<hex>") asks for,
// fed the body as it is read; mac is nil for a header that does not parse.
type bodyMAC struct {
	mac  hash.Hash
	want []byte
}

func newBodyMAC(header string, token []byte) *bodyMAC {
	algo, sig, ok := strings.Cut(header, "=")
	want, err := hex.DecodeString(sig)
	if !ok || err != nil {
		return &bodyMAC{}
	}
	switch algo {
	case "sha256":
		return &bodyMAC{mac: hmac.New(sha256.New, token), want: want}
	case "sha512":
		return &bodyMAC{mac: hmac.New(sha512.New, token), want: want}
	}
	return &bodyMAC{}
}

// valid reports whether the body read matches the header's HMAC.
func (b *bodyMAC) valid() bool {
	return b != nil && b.mac != nil && hmac.Equal(b.mac.Sum(nil), b.want)
}
