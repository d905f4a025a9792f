package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MaxDockerConfigSize is the largest dockerconfigjson document the parsers
// accept: the input may come from a Secret that someone else wrote.
const MaxDockerConfigSize = 1 << 20

// dockerHubKey is the key docker itself stores Docker Hub credentials under.
const dockerHubKey = "https://index.docker.io/v1/"

// ParseDockerConfigJSON reads the kubernetes.io/dockerconfigjson format,
// which is also the "auths" section of ~/.docker/config.json:
//
//	{"auths": {"ghcr.io": {"auth": "base64(user:password)"}}}
//
// Each entry may have "auth", "username", "password", "identitytoken" and
// "registrytoken"; other fields ("email", and the rest of a config.json such
// as "credHelpers") are ignored. As in docker/cli, a non-empty "auth" is
// decoded into the user name and password and replaces "username" and
// "password"; the decoded user name must be non-empty and followed by ':'.
// Entries without any credential (docker writes {} for hosts kept in a
// credential store) are skipped.
//
// Keys are normalised with NormalizeHost: "https://index.docker.io/v1/",
// "docker.io" and "index.docker.io" are one host, "registry.gitlab.com/a/b"
// applies to all of registry.gitlab.com, and ports are kept. A key that is not
// a valid host is an error. When several keys normalise to the same host, the
// key docker itself would look up (the bare host, or
// "https://index.docker.io/v1/" for Docker Hub) wins, else the key that sorts
// first.
//
// name says where data came from ("Secret ns/name", "dockerconfigjson file
// /x/y"); it is the Source's Name and starts every error, and errors name the
// offending entry by its key but never contain a secret or the JSON that
// holds one. Errors wrap ErrMalformedConfig, ErrInvalidHost or
// ErrInvalidCredential.
func ParseDockerConfigJSON(data []byte, name string) (Source, error) {
	if err := checkSize(data, name); err != nil {
		return nil, err
	}
	// A struct, not a map: encoding/json then matches "auths" without
	// regard to case, as docker/cli and Kubernetes do.
	var doc struct {
		Auths json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w: %s", name, ErrMalformedConfig, jsonProblem(err))
	}
	if len(doc.Auths) == 0 || isNull(doc.Auths) {
		return nil, fmt.Errorf("parsing %s: %w: no \"auths\" object", name, ErrMalformedConfig)
	}
	auths, err := decodeObject(doc.Auths)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w: \"auths\" is not an object", name, ErrMalformedConfig)
	}
	src, err := newConfigSource(auths, name)
	if err != nil {
		return nil, err // not a typed nil in a non-nil Source
	}
	return src, nil
}

// ParseDockerCfg reads the legacy .dockercfg format of kubernetes.io/dockercfg
// Secrets: the entries of ParseDockerConfigJSON's "auths" at the top level,
//
//	{"ghcr.io": {"auth": "base64(user:password)", "email": "x@y"}}
//
// with the same rules for entries, keys and errors.
func ParseDockerCfg(data []byte, name string) (Source, error) {
	top, err := parseObject(data, name)
	if err != nil {
		return nil, err
	}
	src, err := newConfigSource(top, name)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// ReadDockerConfigFile reads a dockerconfigjson file (for example the
// .dockerconfigjson key of a mounted pull Secret, or a docker config.json)
// with ParseDockerConfigJSON, naming it "dockerconfigjson file PATH".
func ReadDockerConfigFile(ctx context.Context, path string) (Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading dockerconfigjson file %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading dockerconfigjson file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDockerConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading dockerconfigjson file %s: %w", path, err)
	}
	return ParseDockerConfigJSON(data, "dockerconfigjson file "+path)
}

// checkSize rejects documents over MaxDockerConfigSize, and empty ones.
func checkSize(data []byte, name string) error {
	if len(data) > MaxDockerConfigSize {
		return fmt.Errorf("parsing %s: %w: larger than %d bytes", name, ErrMalformedConfig, MaxDockerConfigSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("parsing %s: %w: empty", name, ErrMalformedConfig)
	}
	return nil
}

// parseObject checks the size of data and decodes it as a JSON object.
func parseObject(data []byte, name string) (map[string]json.RawMessage, error) {
	if err := checkSize(data, name); err != nil {
		return nil, err
	}
	top, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w: %s", name, ErrMalformedConfig, jsonProblem(err))
	}
	return top, nil
}

// decodeObject decodes a JSON object into its raw members. Any trailing data
// after the object is an error.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil { // JSON null
		return nil, errors.New("null")
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonProblem describes a JSON decoding error without quoting the input:
// encoding/json's messages may repeat a character or a number from it, and
// the input holds secrets.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("not valid JSON (syntax error at byte %d)", syntax.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("not a JSON object (unexpected JSON value at byte %d)", typ.Offset)
	}
	return "not a JSON object"
}

// configSource is a parsed dockerconfigjson: normalised host → credential.
type configSource struct {
	name  string
	creds map[string]Credential
}

func newConfigSource(entries map[string]json.RawMessage, name string) (*configSource, error) {
	s := &configSource{name: name, creds: make(map[string]Credential, len(entries))}
	chosen := make(map[string]string, len(entries)) // host → key it came from
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		host, err := NormalizeHost(key)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: entry %s: %w", name, quoteHost(key), err)
		}
		cred, err := parseEntry(entries[key])
		if err != nil {
			return nil, fmt.Errorf("parsing %s: entry %s: %w", name, quoteHost(key), err)
		}
		if cred.IsEmpty() {
			continue
		}
		if prev, dup := chosen[host]; dup && (isDockerKey(prev, host) || !isDockerKey(key, host)) {
			continue // keys are sorted: prev is preferred or sorts first
		}
		chosen[host] = key
		s.creds[host] = cred
	}
	return s, nil
}

// isDockerKey reports whether key is the one docker would look host up by.
func isDockerKey(key, host string) bool {
	if host == DockerHubHost {
		return key == dockerHubKey
	}
	return key == host
}

// parseEntry decodes one entry of "auths" the way docker/cli does.
func parseEntry(raw json.RawMessage) (Credential, error) {
	if isNull(raw) {
		return Credential{}, nil
	}
	// Raw fields, so that a value of the wrong type is reported by us and
	// not by encoding/json, whose message may quote it; a struct, so that
	// field names match without regard to case, as in docker/cli.
	var e struct {
		Auth          json.RawMessage `json:"auth"`
		Username      json.RawMessage `json:"username"`
		Password      json.RawMessage `json:"password"`
		IdentityToken json.RawMessage `json:"identitytoken"`
		RegistryToken json.RawMessage `json:"registrytoken"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return Credential{}, fmt.Errorf("%w: not a JSON object", ErrMalformedConfig)
	}
	var c Credential
	var authField string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{
		{"auth", e.Auth, &authField},
		{"username", e.Username, &c.Username},
		{"password", e.Password, &c.Password},
		{"identitytoken", e.IdentityToken, &c.IdentityToken},
		{"registrytoken", e.RegistryToken, &c.RegistryToken},
	} {
		if len(f.raw) == 0 || isNull(f.raw) {
			continue
		}
		if err := json.Unmarshal(f.raw, f.dst); err != nil {
			return Credential{}, fmt.Errorf("%w: field %q is not a string", ErrMalformedConfig, f.name)
		}
	}
	if authField != "" {
		var err error
		c.Username, c.Password, err = decodeAuthField(authField)
		if err != nil {
			return Credential{}, err
		}
	}
	return c, nil
}

// decodeAuthField decodes "auth": base64 of "user:password", padded or not
// (docker/cli accepts padded only, Kubernetes either). As docker/cli does,
// the user name must be non-empty and NUL bytes are trimmed from the password.
func decodeAuthField(s string) (user, password string, err error) {
	s = strings.TrimSpace(s)
	decoded, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		decoded, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: \"auth\" is not valid base64", ErrInvalidCredential)
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", fmt.Errorf("%w: decoded \"auth\" has no ':' between user name and password", ErrInvalidCredential)
	}
	if user == "" {
		return "", "", fmt.Errorf("%w: decoded \"auth\" has an empty user name", ErrInvalidCredential)
	}
	return user, strings.Trim(password, "\x00"), nil
}

func (s *configSource) Name() string { return s.name }

func (s *configSource) Lookup(_ context.Context, host string) (Credential, bool, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, false, err
	}
	c, ok := s.creds[h]
	return c, ok, nil
}

// Hosts lists the hosts the config has credentials for, normalised and
// sorted.
func (s *configSource) Hosts() []string {
	hosts := make([]string, 0, len(s.creds))
	for h := range s.creds {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

func (s *configSource) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "auth.DockerConfigJSON(%q, hosts %q)", s.name, s.Hosts())
}
