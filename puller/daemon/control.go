package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/webhook"
)

// watchParents wakes a source's loop when an operator asks for a sync
// (puller.AnnotationReconcileRequested) or resumes it: an informer on the ApplySet
// parents in the puller's namespace, which survives apiserver restarts by relisting.
func (d *daemon) watchParents(ctx context.Context) {
	f := informers.NewSharedInformerFactoryWithOptions(d.kube, 10*time.Minute,
		informers.WithNamespace(d.config().Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = apply.LabelID }))
	inf := f.Core().V1().ConfigMaps().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { d.onParent(nil, obj) },
		UpdateFunc: func(old, cur any) { d.onParent(old, cur) },
	})
	f.Start(ctx.Done())
	<-ctx.Done()
	f.Shutdown()
}

func (d *daemon) onParent(old, cur any) {
	cm, ok := cur.(*corev1.ConfigMap)
	if !ok || !strings.HasPrefix(cm.Name, "gitless-") {
		return
	}
	name := strings.TrimPrefix(cm.Name, "gitless-")
	ann := cm.Annotations
	var prev map[string]string
	if o, ok := old.(*corev1.ConfigMap); ok {
		prev = o.Annotations
	}
	req := ann[puller.AnnotationReconcileRequested]
	requested := req != "" && req != ann[puller.AnnotationReconcileHandled] && req != prev[puller.AnnotationReconcileRequested]
	resumed := prev != nil && prev[puller.AnnotationSuspended] == "true" && ann[puller.AnnotationSuspended] != "true"
	if requested || resumed {
		d.p.Health().Trigger(name)
	}
}

// webhookHandler is the webhook receiver over the configuration in force.
func (d *daemon) webhookHandler() http.Handler {
	return webhook.NewHandler(webhook.Options{Token: d.webhookToken, Trigger: d.trigger, Logger: d.log})
}

// trigger asks for a sync of a source now: on the leader, its loop is woken
// (coalesced with a sync in flight); on a standby, a reconcile request is recorded on
// the source's parent for the leader to pick up.
func (d *daemon) trigger(ctx context.Context, name string) error {
	if d.leading.Load() && d.p.Health().Trigger(name) {
		return nil
	}
	_, err := d.control.RequestReconcile(ctx, name)
	return err
}

// webhookToken is the token of a source: its own webhook field, else the
// configuration's.
func (d *daemon) webhookToken(ctx context.Context, name string) ([]byte, error) {
	c := d.config()
	var ws *puller.WebhookSecret
	found := false
	for _, s := range c.Sources {
		if s.Name == name {
			found, ws = true, s.Webhook
		}
	}
	if !found {
		return nil, webhook.ErrUnknownSource
	}
	if ws == nil {
		ws = c.Webhook
	}
	if ws == nil {
		return nil, webhook.ErrNoToken
	}
	key := "file:" + ws.SecretFile
	if ws.SecretRef != nil {
		key = "secret:" + c.Namespace + "/" + ws.SecretRef.Name
	}
	return d.tokens.get(ctx, key, func(ctx context.Context) ([]byte, error) {
		return readToken(ctx, d.kube, c.Namespace, ws)
	})
}

// tokenCache keeps webhook tokens for a short while, so that a flood of requests does
// not become a flood of Secret reads: a Secret or file found missing is kept as long
// as a token (a request for a missing Secret is not answered with a read per request),
// another failure (the apiserver unreachable, a timeout) for retryTTL, and requests
// that miss at once share one read.
type tokenCache struct {
	mu       sync.Mutex
	ttl      time.Duration
	retryTTL time.Duration
	m        map[string]cachedToken
	gen      uint64 // counts clears: a read begun before one is not kept, nor joined
	flight   singleflight.Group
}

type cachedToken struct {
	token []byte
	err   error
	until time.Time
}

func (t *tokenCache) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m = nil
	t.gen++
}

// get returns the token under key, read with read when it is not kept. The read runs
// apart from the request that asked for it (its own timeout), as other requests may
// wait for it.
func (t *tokenCache) get(ctx context.Context, key string, read func(context.Context) ([]byte, error)) ([]byte, error) {
	t.mu.Lock()
	if c, ok := t.m[key]; ok && time.Now().Before(c.until) {
		t.mu.Unlock()
		return c.token, c.err
	}
	gen := t.gen
	t.mu.Unlock()
	ch := t.flight.DoChan(fmt.Sprint(gen, " ", key), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		tok, err := read(rctx)
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.gen != gen {
			return tok, err // the config changed during the read: answer it, keep nothing
		}
		if t.m == nil {
			t.m = map[string]cachedToken{}
		}
		ttl := t.ttl
		if err != nil && !apierrors.IsNotFound(err) && !errors.Is(err, fs.ErrNotExist) {
			ttl = min(ttl, t.retryTTL)
		}
		t.m[key] = cachedToken{token: tok, err: err, until: time.Now().Add(ttl)}
		return tok, err
	})
	select {
	case r := <-ch:
		tok, _ := r.Val.([]byte)
		return tok, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readToken reads the token a webhook field names: the Secret's token key, or the file.
func readToken(ctx context.Context, kube kubernetes.Interface, ns string, ws *puller.WebhookSecret) ([]byte, error) {
	if ws.SecretRef != nil {
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, ws.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading webhook Secret %s/%s: %w", ns, ws.SecretRef.Name, err)
		}
		return s.Data[puller.WebhookTokenKey], nil
	}
	b, err := os.ReadFile(ws.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("reading webhook token: %w", err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// recordPodEvent records an Event about the puller's own pod.
func recordPodEvent(ctx context.Context, kube kubernetes.Interface, ns, pod, typ, reason, msg string) error {
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	now := metav1.Now()
	_, err := kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: pod + ".", Namespace: ns},
		InvolvedObject:      corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: pod},
		Reason:              reason,
		Message:             msg,
		Type:                typ,
		Source:              corev1.EventSource{Component: "gitless-puller"},
		ReportingController: "gitless.dev/puller",
		ReportingInstance:   pod,
		Action:              "Configure",
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}, metav1.CreateOptions{})
	return err
}
