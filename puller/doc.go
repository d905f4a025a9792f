// Package puller is the engine of gitless-puller: it keeps Kubernetes objects in a
// cluster equal to a signed OCI artifact.
//
// A [Source] names a repository and a ref (tag, semver range or digest), a directory of
// the artifact, the signature policy (package verify), registry credentials, and how to
// apply and prune. [Puller.Sync] runs one reconcile of a source, in this order, and
// stops at the first step that fails, having applied and pruned nothing the failed
// step would have decided:
//
//  1. resolve the ref to a digest with one HEAD request;
//  2. if it is the digest applied last and no drift check is due, stop: no other
//     request, no apiserver write;
//  3. verify the signature of that digest, then fetch the manifest and layer by that
//     digest (so a tag moved after the check changes nothing), refuse rollbacks;
//  4. extract it, hardened (artifact.Extract);
//  5. build it with kustomize, or read its YAML (KustomizeBuilder), validate;
//  6. apply with server-side apply, Namespaces and CRDs first, after a server-side
//     dry-run of the whole set (puller/apply);
//  7. prune what left the set, through a KEP-3659 ApplySet that kubectl reads;
//  8. record the outcome on the ApplySet parent's annotations and as Events.
//
// [Run] keeps several sources synced on jittered intervals, in dependsOn order; the
// puller/config package reads the configuration file. Nothing here prints: results
// are returned, logs go to Options.Logger.
//
// Example:
//
//	p, err := puller.New(restConfig, puller.Options{Namespace: "gitless-system"})
//	if err != nil { ... }
//	res, err := p.Sync(ctx, puller.Source{
//		Name:   "apps",
//		URL:    "oci://ghcr.io/acme/app-manifests",
//		Ref:    puller.Ref{SemVer: ">=1.0.0"},
//		Verify: &verify.Policy{Keys: []string{"/etc/gitless/cosign.pub"}},
//		Prune:  true,
//	})
//	switch {
//	case errors.Is(err, verify.ErrVerificationFailed):
//		// a security event: nothing was applied, a Warning Event was recorded
//	case err != nil:
//		// retry later if puller.Retry(err)
//	default:
//		fmt.Println(res.Outcome, res.Digest, res.Created, res.Configured, res.Pruned)
//	}
package puller
