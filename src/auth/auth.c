/* auth.c — roles, argon2id password hashes and bearer tokens (libsodium). */
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

#include "base/err.h"

static const char *const role_names[AUTH_ROLE_COUNT] = {
	"admin", "commander", "station_officer", "grid_worker", "analyst",
};

int auth_init(void)
{
	return sodium_init() < 0 ? SG_EINTERNAL : SG_OK;
}

const char *auth_role_name(enum auth_role r)
{
	return (unsigned)r < AUTH_ROLE_COUNT ? role_names[r] : "unknown";
}

int auth_role_parse(const char *s, enum auth_role *out)
{
	for (unsigned i = 0; i < AUTH_ROLE_COUNT; i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum auth_role)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

int auth_password_hash(const char *password, char out[AUTH_PW_HASH_MAX])
{
	size_t n = strlen(password);

	if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
		return SG_EINVAL;
	if (crypto_pwhash_str_alg(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return SG_ENOMEM; /* libsodium fails here only when it cannot get the memory */
	return SG_OK;
}

bool auth_password_verify(const char *password, const char *hash)
{
	size_t n = strlen(password);
	if (n > AUTH_PASSWORD_MAX)
		return false;
	return crypto_pwhash_str_verify(hash, password, n) == 0;
}

int auth_token_new(char token[AUTH_TOKEN_LEN + 1], unsigned char hash[AUTH_TOKEN_HASH_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	memcpy(token, "sg_", 3);
	sodium_bin2base64(token + 3, AUTH_TOKEN_LEN + 1 - 3, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	return auth_token_hash(token, hash);
}

int auth_token_hash(const char *token, unsigned char hash[AUTH_TOKEN_HASH_LEN])
{
	size_t n = strlen(token);

	if (n != AUTH_TOKEN_LEN || strncmp(token, "sg_", 3) != 0)
		return SG_EINVAL;
	for (size_t i = 3; i < n; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return SG_EINVAL;
	}
	crypto_generichash(hash, AUTH_TOKEN_HASH_LEN, (const unsigned char *)token, n, NULL, 0);
	return SG_OK;
}
