package auth_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gitless-dev/gitless/artifact/auth"
)

func Example() {
	ctx := context.Background()

	// A pull Secret's .dockerconfigjson: base64("robot:s3cret").
	secret, err := auth.ParseDockerConfigJSON(
		[]byte(`{"auths":{"https://registry.example.com/v2/":{"auth":"cm9ib3Q6czNjcmV0"}}}`),
		"Secret flux-system/pull")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The environment of a GitHub Actions job.
	env := map[string]string{"GITHUB_TOKEN": "ghs_xxx", "GITHUB_ACTOR": "octocat"}
	chain := append(auth.Chain{secret}, auth.FromEnv(func(k string) string { return env[k] })...)

	for _, host := range []string{"ghcr.io", "Registry.Example.com", "ghcr.io.evil.com", "quay.io"} {
		cred, from, err := chain.Resolve(ctx, host)
		switch {
		case err != nil:
			fmt.Println(err)
		case cred.IsEmpty():
			fmt.Printf("%s: anonymous (tried %s)\n", host, strings.Join(chain.Names(), ", "))
		default:
			fmt.Printf("%s: %v from %s\n", host, cred, from)
		}
	}
	// Output:
	// ghcr.io: {Username:octocat Password:<redacted>} from GITHUB_TOKEN (env)
	// Registry.Example.com: {Username:robot Password:<redacted>} from Secret flux-system/pull
	// ghcr.io.evil.com: anonymous (tried Secret flux-system/pull, GITHUB_TOKEN (env))
	// quay.io: anonymous (tried Secret flux-system/pull, GITHUB_TOKEN (env))
}

func ExampleNormalizeHost() {
	for _, key := range []string{
		"https://index.docker.io/v1/",
		"docker.io",
		"http://localhost:5000/v2/",
		"registry.gitlab.com/group/project",
		"GHCR.io:443",
	} {
		host, _ := auth.NormalizeHost(key)
		fmt.Println(host)
	}
	// Output:
	// index.docker.io
	// index.docker.io
	// localhost:5000
	// registry.gitlab.com
	// ghcr.io:443
}
