/*
 * auth.h — roles, password hashing and bearer tokens.
 *
 * Passwords are hashed with argon2id (libsodium's crypto_pwhash_str, its
 * "interactive" limits). Tokens are 32 random bytes, written "sg_" +
 * base64url; the store keeps only their BLAKE2b-256 hash, so a copy of the
 * database does not let anyone in.
 */
#ifndef SAFEGRID_AUTH_AUTH_H
#define SAFEGRID_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

enum auth_role {
	AUTH_ROLE_ADMIN,
	AUTH_ROLE_COMMANDER,
	AUTH_ROLE_STATION_OFFICER,
	AUTH_ROLE_GRID_WORKER,
	AUTH_ROLE_ANALYST,
	AUTH_ROLE_COUNT
};

/* Must be called once before any other function here (sodium_init). */
int auth_init(void);

const char *auth_role_name(enum auth_role r);
int auth_role_parse(const char *s, enum auth_role *out);

#define AUTH_PW_HASH_MAX 128 /* crypto_pwhash_STRBYTES */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256

/* Hashes a password into out (NUL-terminated). SG_EINVAL if its length is out of bounds. */
int auth_password_hash(const char *password, char out[AUTH_PW_HASH_MAX]);
/* Constant-time check of password against a stored hash. */
bool auth_password_verify(const char *password, const char *hash);

#define AUTH_TOKEN_LEN 46 /* "sg_" + 43 base64url characters (buffers add one for NUL) */
#define AUTH_TOKEN_HASH_LEN 32

/* A new random token (text) and its hash. */
int auth_token_new(char token[AUTH_TOKEN_LEN + 1], unsigned char hash[AUTH_TOKEN_HASH_LEN]);
/* Hashes a token presented by a client. SG_EINVAL if it is not well formed. */
int auth_token_hash(const char *token, unsigned char hash[AUTH_TOKEN_HASH_LEN]);

#endif
