// Package apply applies a set of Kubernetes objects to a cluster the way gitless-puller
// does: server-side apply with one field manager, Namespaces and CRDs first and waited
// for, a server-side dry-run of the whole set before anything else is applied, and
// pruning through an ApplySet (KEP-3659) that kubectl understands.
//
// The set's parent is a ConfigMap or Secret in the puller's own namespace. It carries
// the label applyset.kubernetes.io/id (computed as the KEP and kubectl do), the
// annotations applyset.kubernetes.io/tooling, contains-group-kinds and
// additional-namespaces, and the puller's status annotations (gitless.dev/...). Every
// member carries applyset.kubernetes.io/part-of with the set's ID; pruning lists the
// recorded group-kinds in the recorded namespaces by that label and deletes only what
// carries it, with the listed UID and resourceVersion as preconditions.
//
// A sync writes only what changes: the dry-run tells created, configured and unchanged
// objects apart, and unchanged objects are not applied. Conflicts with other field
// managers are forced only on fields that the previously applied configuration set
// (drift correction); a conflicting field the puller never applied is left to its
// manager and reported.
//
// Why not fluxcd/pkg/ssa: it builds here and is well kept, but it knows no ApplySets
// (parent, labels and prune would be ours anyway), it reads every object before its
// dry-run and applies changed objects one at a time, and it links controller-runtime's
// client and kstatus into the puller. This package is the part of it gitless needs,
// on client-go alone; docs/puller.md has the measurements.
//
// Example:
//
//	a, err := apply.New(cfg, apply.DefaultOptions())
//	if err != nil { ... }
//	parent := apply.Parent{Kind: apply.ParentConfigMap, Namespace: "gitless-system", Name: "gitless-apps"}
//	st, err := a.ReadParent(ctx, parent)
//	if err != nil { ... }
//	cs, err := a.Apply(ctx, st, objects, apply.SyncOptions{Prune: true})
//	if err != nil { ... } // *SetError names each object; errors.Is(err, apply.ErrDryRun) ...
//	fmt.Println(cs.Summary()) // 3 created, 1 configured, 10 unchanged, 2 pruned
package apply
