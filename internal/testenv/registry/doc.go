// Package registry starts real OCI registries in-process, for tests and for
// local development.
//
// Two kinds are offered:
//
//   - [Start] (and [NewT] in tests) runs the CNCF distribution registry
//     (github.com/distribution/distribution/v3, the code behind Docker Hub,
//     GitLab's and Harbor's registries) on a loopback listener, with in-memory
//     or on-disk storage and one of three authentication modes: none
//     ([AuthNone]), HTTP basic against an htpasswd file ([AuthBasic]), or
//     bearer tokens issued by a small token server of this package
//     ([AuthToken]), which is how ghcr.io, GitLab and Docker Hub authenticate
//     clients. Use it for end-to-end paths: credentials, scopes, 401 handling.
//   - [NewGGCR] runs go-containerregistry's in-process registry behind
//     httptest: faster to start, no authentication. Use it when a test only
//     needs somewhere to push and pull.
//
// Both serve plain HTTP on 127.0.0.1, so clients must be told to use plain
// HTTP (oras-go: remote.Repository.PlainHTTP; go-containerregistry:
// name.Insecure).
//
// In AuthToken mode the registry answers unauthenticated requests with
//
//	401 WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",service="gitless-registry",scope="repository:NAME:pull,push"
//
// and the token server at the realm checks the user's credentials (HTTP basic
// on GET, or the OAuth2 password grant on POST) and returns an ES256-signed
// JWT granting exactly the scopes asked for. [Registry.TokenRequests] counts
// the requests the token server received, so tests can prove a client went
// through it.
//
// The distribution registry logs through logrus's standard logger, which is
// process-global: [Start] points it at [Options.LogWriter], that is, discards
// it unless told otherwise.
//
// Example, in a test:
//
//	func TestPush(t *testing.T) {
//		reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})
//		repo, err := remote.NewRepository(reg.Host() + "/team/app")
//		if err != nil {
//			t.Fatal(err)
//		}
//		repo.PlainHTTP = true
//		repo.Client = &auth.Client{
//			Client: retry.DefaultClient,
//			Credential: auth.StaticCredential(reg.Host(), auth.Credential{
//				Username: reg.Username,
//				Password: reg.Password,
//			}),
//		}
//		// push and pull through repo ...
//	}
//
// The same registry runs in the foreground for local work with
//
//	go run ./internal/cmd/devregistry -addr 127.0.0.1:5000 -dir /tmp/reg -auth token
package registry
