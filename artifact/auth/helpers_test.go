package auth

import "encoding/base64"

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
