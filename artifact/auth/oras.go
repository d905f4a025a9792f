package auth

import (
	orasauth "oras.land/oras-go/v2/registry/remote/auth"
)

// ToORAS converts a Credential to oras-go's form: IdentityToken is its
// RefreshToken, RegistryToken its AccessToken.
func ToORAS(c Credential) orasauth.Credential {
	return orasauth.Credential{
		Username:     c.Username,
		Password:     c.Password,
		RefreshToken: c.IdentityToken,
		AccessToken:  c.RegistryToken,
	}
}
