/* test_auth.c — roles, argon2id passwords, tokens. */
#include "auth/auth.h"

#include <string.h>

#include "base/err.h"
#include "test.h"

static void test_roles_parse_and_name_round_trip(void)
{
	enum auth_role r;

	for (unsigned i = 0; i < AUTH_ROLE_COUNT; i++) {
		CHECK_EQ_INT(auth_role_parse(auth_role_name((enum auth_role)i), &r), 0);
		CHECK_EQ_INT(r, i);
	}
	CHECK_EQ_INT(auth_role_parse("root", &r), SG_EINVAL);
	CHECK_EQ_INT(auth_role_parse("", &r), SG_EINVAL);
}

static void test_password_hash_is_argon2id_and_verifies(void)
{
	char h[AUTH_PW_HASH_MAX], h2[AUTH_PW_HASH_MAX];

	CHECK_EQ_INT(auth_password_hash("correct horse", h), 0);
	CHECK(strncmp(h, "$argon2id$", 10) == 0);
	CHECK(auth_password_verify("correct horse", h));
	CHECK(!auth_password_verify("correct horsE", h));
	CHECK(!auth_password_verify("", h));
	CHECK_EQ_INT(auth_password_hash("correct horse", h2), 0);
	CHECK(strcmp(h, h2) != 0); /* salted */
	CHECK_EQ_INT(auth_password_hash("short", h), SG_EINVAL);
}

static void test_tokens_are_random_well_formed_and_hash_stably(void)
{
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1];
	unsigned char h1[AUTH_TOKEN_HASH_LEN], h2[AUTH_TOKEN_HASH_LEN], h3[AUTH_TOKEN_HASH_LEN];

	CHECK_EQ_INT(auth_token_new(t1, h1), 0);
	CHECK_EQ_INT(auth_token_new(t2, h2), 0);
	CHECK_EQ_INT(strlen(t1), AUTH_TOKEN_LEN);
	CHECK(strncmp(t1, "sg_", 3) == 0);
	CHECK(strcmp(t1, t2) != 0);
	CHECK(memcmp(h1, h2, sizeof h1) != 0);
	CHECK_EQ_INT(auth_token_hash(t1, h3), 0);
	CHECK(memcmp(h1, h3, sizeof h1) == 0);
	CHECK_EQ_INT(auth_token_hash("sg_short", h3), SG_EINVAL);
	t1[10] = '!';
	CHECK_EQ_INT(auth_token_hash(t1, h3), SG_EINVAL);
	CHECK_EQ_INT(auth_token_hash("xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h3), SG_EINVAL);
}

int main(void)
{
	if (auth_init())
		return 1;
	TEST_RUN(test_roles_parse_and_name_round_trip);
	TEST_RUN(test_password_hash_is_argon2id_and_verifies);
	TEST_RUN(test_tokens_are_random_well_formed_and_hash_stably);
	return test_summary("auth/auth");
}
