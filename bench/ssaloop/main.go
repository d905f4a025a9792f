// Command ssaloop is the floor bench/sync.sh measures gitless-puller against: a bare
// client-go server-side apply loop, one apply request per object and nothing else (no
// dry-run, no ApplySet, no prune, no status), with the dynamic client as most
// controllers use it.
//
//	go run ./bench/ssaloop -kubeconfig KC -namespace NS -concurrency 1 DIR
//
// It reads every .yaml file below DIR, sets each object's namespace to -namespace, and
// prints "applied N objects, N requests" when done.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig")
	namespace := flag.String("namespace", "default", "namespace of every object")
	concurrency := flag.Int("concurrency", 1, "apply requests in flight")
	manager := flag.String("field-manager", "ssaloop", "field manager")
	flag.Parse()
	if err := run(*kubeconfig, *namespace, *manager, *concurrency, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "ssaloop:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace, manager string, concurrency int, dir string) error {
	var objs []*unstructured.Unstructured
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if len(u.Object) > 0 {
				u.SetNamespace(namespace)
				objs = append(objs, u)
			}
		}
	})
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	var (
		next     atomic.Int64
		requests atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	ctx := context.Background()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) {
					return
				}
				o := objs[i]
				gvk := o.GroupVersionKind()
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err == nil {
					var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
					if m.Scope.Name() == meta.RESTScopeNameNamespace {
						r = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
					}
					requests.Add(1)
					_, err = r.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: manager})
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("applied %d objects, %d requests\n", len(objs), requests.Load())
	return nil
}
