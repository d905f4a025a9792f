// Package config reads gitless-puller's configuration file: a YAML document
// versioned like a Kubernetes object (apiVersion gitless.dev/v1alpha1, kind
// PullerConfig) listing the sources to keep applied. Invalid configuration is refused
// at start with the offending field named: unknown fields, wrong types, invalid
// references, semver ranges, paths and policies, unknown or cyclic dependsOn.
//
//	c, err := config.Load("/etc/gitless/puller.yaml", config.Namespaces{Default: os.Getenv("POD_NAMESPACE")})
//	if err != nil {
//		return err // "puller config /etc/gitless/puller.yaml: sources[1].ref.semver: ..."
//	}
//	p, err := puller.New(restConfig, puller.Options{Namespace: c.Namespace, Concurrency: c.Concurrency})
//	...
//	err = p.Run(ctx, c.Sources, puller.RunOptions{})
//
// docs/puller-config.md describes every field, with the defaults and an example.
package config
