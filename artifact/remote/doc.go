// Package remote moves gitless artifacts to and from OCI registries: push (with
// immutable tags), pull (resolve once, fetch by digest, verify every digest and size,
// extract hardened), tag, inspect, list and diff. It uses oras-go for the registry
// protocol, and artifact/auth for credentials.
//
//	c := remote.New(remote.Options{Credentials: chain})
//	ref, _ := artifact.ParseReference("oci://ghcr.io/acme/app-manifests:1a2b3c4")
//	layer, _ := artifact.Build(ctx, "deploy", artifact.DefaultBuildOptions())
//	res, err := c.Push(ctx, ref, layer, artifact.Metadata{Revision: "main@sha1:1a2b3c4..."}, remote.PushOptions{})
//
// Registries on loopback (localhost, 127.0.0.0/8, ::1) are spoken to in plain HTTP;
// any other registry only over HTTPS unless Options.Insecure is set.
//
// Errors: a registry's 401/403 comes back as an *AuthError naming the registry, what
// was being done and which credential source was used (never the secret); a tag that
// would move is an *artifact.TagConflictError.
package remote
